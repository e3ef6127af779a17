/** CPU time of a Linux process or one of its threads, from /proc (the tests' and the benchmarks' one reading). */
import { readFileSync } from 'node:fs';

/**
 * User + system CPU seconds so far of what a /proc stat file describes: `/proc/<pid>/stat` (the
 * whole process, every thread) or `/proc/<pid>/task/<tid>/stat` (one thread).
 */
export function statCpuSeconds(statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks of 1/100 s
}

/** CPU seconds (user + system, every thread) of a process so far. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}
