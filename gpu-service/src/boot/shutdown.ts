/**
 * The end: on SIGTERM/SIGINT every request accepted before the signal is answered (new ones get
 * 503 `draining`), then the batcher closes; both bounded by CRIS_SHUTDOWN_TIMEOUT_MS. Then the
 * HTTP server and the worker threads close, and the process exits 0 when everything drained.
 */
import type { ServerType } from '@hono/node-server';
import type { BatchScheduler } from '../batcher/scheduler.js';
import type { Logger } from '../core/logger.js';
import type { ServiceState } from '../server/service-state.js';
import { pools, type Workers } from './start-workers.js';

export interface ShutdownDeps {
  timeoutMs: number;
  logger: Logger;
  state: ServiceState;
  queued: () => number;
  scheduler: BatchScheduler;
  server: ServerType;
  workers: Workers;
}

/** Installs the signal handlers; the returned function is what they run (once). */
export function drainOnSignals(deps: ShutdownDeps): (signal: string) => Promise<void> {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { state, scheduler, server, logger } = deps;
    state.markDraining();
    logger.info('draining', { signal, accepted: state.activeRequests, queued: deps.queued(), in_flight: scheduler.inFlight });
    const drained = await Promise.race([
      state
        .idle()
        .then(() => scheduler.drain())
        .then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), deps.timeoutMs).unref()),
    ]);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      setTimeout(resolve, 2000).unref();
    });
    await Promise.all(pools(deps.workers).map((pool) => pool.close()));
    logger.info('stopped', { drained });
    process.exit(drained ? 0 : 1);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  return shutdown;
}
