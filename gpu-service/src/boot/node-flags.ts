/**
 * The Node flags the service runs with (gpu-service/node-flags.json, the one list: the Dockerfile's
 * CMDs, `npm run service`, `npm start` and the test and benchmark launchers use it, and
 * test/unit/deploy/node-flags.test.ts checks they do). V8 flags cannot be set once the process
 * runs, so main() can only say when they are missing.
 *
 * --single-threaded-gc: the heaps here are small (10-30 MB per thread) and the garbage is mostly
 * short-lived typed arrays, so V8's parallel and concurrent GC helper threads synchronise more
 * than they help: on 2 cores they took 2-3 ms of CPU per request, and the request about 2 ms
 * less CPU without them at the same throughput (gpu-service/README.md, "Threads per host").
 */
import flags from '../../node-flags.json' with { type: 'json' };

export const SERVICE_NODE_FLAGS: readonly string[] = flags;

/** The service flags this process was started without. */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVICE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
