/**
 * `npm run bench:worker-gc`: what one request costs the service's worker threads, old code
 * against new: CPU ms per request of the threads other than the main one (/proc/<pid>/task/<tid>/stat)
 * and their garbage collection per request (the service run with --trace-gc: scavenges,
 * mark-compacts and their pauses, incremental marking steps included, of every isolate but the
 * main thread's). By default the inference worker alone, with imaging inside it
 * (CRIS_IMAGING_WORKERS=0: prepare -> encoder -> head -> masks in that thread, the fused path a
 * lone request takes), at concurrency 1: bench:service's requests (480x360 PNG scenes, one
 * phrase, rle), one intra-op thread, no feature cache, as bench:service runs ours: the
 * JavaScript bundle with the service's Node flags.
 * "old" is the bundle built from a git revision (CRIS_BENCH_BASE, default main; its sources
 * exported under .cache/worker-gc/), "new" the working tree's; runs alternate old, new, new, old.
 * Env: CRIS_BENCH_BASE ('.': the working tree's bundle on both sides, to compare flags only),
 * CRIS_BENCH_OLD_FLAGS / CRIS_BENCH_NEW_FLAGS (extra Node flags of a side, space-separated),
 * CRIS_BENCH_CONCURRENCY (1), CRIS_BENCH_IMAGING_WORKERS (0),
 * CRIS_BENCH_BUNDLE (default: the test bundle), CRIS_BENCH_REQUESTS (per run, 400),
 * CRIS_BENCH_ROUNDS (2: old new new old), CRIS_FEATURE_CACHE_ENTRIES (0).
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { statCpuSeconds } from '../test/helpers/proc-cpu.js';
import { REPO_ROOT, defaultTestBundle, startService, type ServiceHandle } from '../test/helpers/service-process.js';
import { segmentInit } from '../test/helpers/service-requests.js';
import { load, scene } from './load.js';

const BASE = process.env.CRIS_BENCH_BASE ?? 'main';
const BUNDLE = process.env.CRIS_BENCH_BUNDLE ?? defaultTestBundle();
const REQUESTS = Number(process.env.CRIS_BENCH_REQUESTS ?? 400);
const ROUNDS = Number(process.env.CRIS_BENCH_ROUNDS ?? 2);
const CACHE_ENTRIES = process.env.CRIS_FEATURE_CACHE_ENTRIES ?? '0';
const FLAGS = { old: (process.env.CRIS_BENCH_OLD_FLAGS ?? '').split(' ').filter(Boolean), new: (process.env.CRIS_BENCH_NEW_FLAGS ?? '').split(' ').filter(Boolean) };
const CONCURRENCY = Number(process.env.CRIS_BENCH_CONCURRENCY ?? 1);
const IMAGING_WORKERS = process.env.CRIS_BENCH_IMAGING_WORKERS ?? '0';
const WARM_UP = 60;
const PORT = 18190;
const OLD_DIR = join(REPO_ROOT, '.cache', 'worker-gc', 'old');
const started = performance.now();

function log(message: string): void {
  process.stderr.write(`[worker-gc ${((performance.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

/** The bundle of `rev`'s service sources (exported beside the repo's node_modules, which it resolves). */
function buildOld(rev: string): string {
  rmSync(OLD_DIR, { recursive: true, force: true });
  mkdirSync(OLD_DIR, { recursive: true });
  execSync(`git archive ${rev} gpu-service contract | tar -x -C ${JSON.stringify(OLD_DIR)}`, { cwd: REPO_ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [join(OLD_DIR, 'gpu-service', 'deploy', 'build.mjs')], { cwd: OLD_DIR, stdio: 'ignore' });
  return join(OLD_DIR, 'dist', 'gpu-service', 'main.mjs');
}

/** CPU seconds (user + system) of each thread of `pid`, by thread id. */
function threadCpu(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), statCpuSeconds(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended
    }
  }
  return out;
}

interface GcTotals {
  scavenges: number;
  markCompacts: number;
  ms: number;
}

/** --trace-gc lines per isolate: counts and pause ms (+ incremental marking steps). */
function gcByIsolate(trace: string): Map<string, GcTotals> {
  const out = new Map<string, GcTotals>();
  for (const line of trace.split('\n')) {
    const match = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (Scavenge|Mark-Compact|Mark-Compact \(reduce\)|Minor Mark-Compact)\b.*?MB, ([\d.]+) \/ [\d.]+ ms(?:\s+\(\+ ([\d.]+) ms in)?/.exec(line);
    if (!match) continue;
    const totals = out.get(match[1]) ?? { scavenges: 0, markCompacts: 0, ms: 0 };
    if (match[2] === 'Scavenge' || match[2] === 'Minor Mark-Compact') totals.scavenges++;
    else totals.markCompacts++;
    totals.ms += Number(match[3]) + Number(match[4] ?? 0);
    out.set(match[1], totals);
  }
  return out;
}

interface RunResult {
  side: 'old' | 'new';
  workerCpuMs: number;
  processCpuMs: number;
  gc: GcTotals;
  throughput: number;
}

async function measure(side: 'old' | 'new', mainScript: string, inits: RequestInit[]): Promise<RunResult> {
  const service: ServiceHandle = await startService({
    port: PORT,
    bundleDir: BUNDLE,
    mainScript,
    extraNodeFlags: ['--trace-gc', ...FLAGS[side]],
    readyTimeoutMs: 120_000,
    env: { CRIS_FEATURE_CACHE_ENTRIES: CACHE_ENTRIES, CRIS_WORKERS: '1', CRIS_IMAGING_WORKERS: IMAGING_WORKERS, CRIS_THREADS: '1', CRIS_INSECURE_NO_AUTH: '1', CRIS_HMAC_SECRET: '', CRIS_LOG_LEVEL: 'warn' },
  });
  try {
    const pid = service.child.pid!;
    await load(service.url, inits, CONCURRENCY, WARM_UP);
    const traceBefore = service.logs().length;
    const cpuBefore = threadCpu(pid);
    const processBefore = service.cpuSeconds();
    const result = await load(service.url, inits, CONCURRENCY, REQUESTS);
    const cpuAfter = threadCpu(pid);
    const processMs = (service.cpuSeconds() - processBefore) * 1000;
    if (result.errors > 0) throw new Error(`${side}: ${result.errors} requests failed`);
    // The worker threads: every thread but the main one (whose id is the pid).
    let workerSeconds = 0;
    for (const [tid, seconds] of cpuAfter) if (tid !== pid) workerSeconds += seconds - (cpuBefore.get(tid) ?? 0);
    // Their isolates: all but the main thread's (the first to collect, at start-up).
    const [mainIsolate] = gcByIsolate(service.logs()).keys();
    const gc = { scavenges: 0, markCompacts: 0, ms: 0 };
    for (const [isolate, totals] of gcByIsolate(service.logs().slice(traceBefore))) {
      if (isolate === mainIsolate) continue;
      gc.scavenges += totals.scavenges;
      gc.markCompacts += totals.markCompacts;
      gc.ms += totals.ms;
    }
    log(`${side}: ${result.requests} requests at c=${CONCURRENCY}, ${result.throughput.toFixed(1)} req/s`);
    return { side, workerCpuMs: (workerSeconds * 1000) / result.requests, processCpuMs: processMs / result.requests, gc, throughput: result.throughput };
  } finally {
    await service.stop();
  }
}

async function main(): Promise<void> {
  log(`old: ${BASE} ${FLAGS.old.join(' ')}; new: the working tree ${FLAGS.new.join(' ')}; bundle ${BUNDLE}; ${REQUESTS} requests a run at c=${CONCURRENCY}, ${IMAGING_WORKERS} imaging threads, feature cache ${CACHE_ENTRIES} entries`);
  execFileSync(process.execPath, [join(REPO_ROOT, 'gpu-service', 'deploy', 'build.mjs')], { cwd: REPO_ROOT, stdio: 'ignore' });
  const newMain = join(REPO_ROOT, 'dist', 'gpu-service', 'main.mjs');
  const oldMain = BASE === '.' ? newMain : buildOld(BASE);
  const images = await Promise.all(Array.from({ length: 48 }, (_, i) => scene(i + 1)));
  const inits = await Promise.all(images.map((image, i) => segmentInit({ image, texts: [`the ${i % 2 ? 'round' : 'square'} shape`], options: { format: 'rle' } }, undefined)));
  const loadAtStart = loadavg();
  const runs: RunResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 ? (['new', 'old'] as const) : (['old', 'new'] as const)) runs.push(await measure(side, side === 'old' ? oldMain : newMain, inits));
  }
  const lines = ['side  run  workers CPU ms/req  process CPU ms/req  GC ms/req  scavenges/req  mark-compacts/req  req/s'];
  for (const [index, run] of runs.entries()) {
    const n = REQUESTS;
    lines.push(
      `${run.side.padEnd(4)}  ${String(index + 1).padStart(3)}  ${run.workerCpuMs.toFixed(2).padStart(18)}  ${run.processCpuMs.toFixed(2).padStart(18)}  ${(run.gc.ms / n).toFixed(3).padStart(9)}  ${(run.gc.scavenges / n).toFixed(3).padStart(13)}  ${(run.gc.markCompacts / n).toFixed(4).padStart(17)}  ${run.throughput.toFixed(1).padStart(5)}`,
    );
  }
  for (const side of ['old', 'new'] as const) {
    const mine = runs.filter((run) => run.side === side);
    const mean = (f: (run: RunResult) => number) => mine.reduce((sum, run) => sum + f(run), 0) / mine.length;
    lines.push(`${side} mean: workers CPU ${mean((r) => r.workerCpuMs).toFixed(2)} ms/req, GC ${mean((r) => r.gc.ms / REQUESTS).toFixed(3)} ms/req`);
  }
  lines.push(`load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(lines.join('\n'));
}

await main();
