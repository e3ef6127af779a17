/**
 * Start-up, step 1: the worker threads. They open the bundle themselves (each runner checks its
 * sessions against the manifest) while the main thread loads the rest and verifies every file's
 * sha256. CRIS_IMAGING_WORKERS=0: one pool whose workers hold both parts and run fused batches.
 * With imaging threads, the inference workers hold both parts too unless CRIS_FUSE_WHEN_IDLE=0,
 * so that a lone small request can run fused (pipeline/fusion-policy.ts).
 */
import type { ServiceConfig } from '../config.js';
import { WorkerPool } from '../worker/pool.js';

export interface Workers {
  /** The inference pool (also the imaging one when fused). */
  backend: WorkerPool;
  imagingPool: WorkerPool;
  fused: boolean;
}

export function startWorkers(config: ServiceConfig): Promise<Workers> {
  const init = { bundleDir: config.bundleDir, provider: config.provider, threads: config.threads, ortSpinning: config.ortSpinning, featureCache: config.featureCache };
  const fused = config.imagingWorkers === 0;
  if (fused) return WorkerPool.start({ ...init, role: 'both' }, config.workers).then((pool) => ({ backend: pool, imagingPool: pool, fused }));
  return Promise.all([
    WorkerPool.start({ ...init, role: config.fuseWhenIdle ? 'both' : 'inference' }, config.workers),
    WorkerPool.start({ ...init, role: 'imaging' }, config.imagingWorkers),
  ]).then(([backend, imagingPool]) => ({ backend, imagingPool, fused }));
}

/** Both pools once (the same pool twice when fused). */
export function pools(workers: Workers): WorkerPool[] {
  return [...new Set([workers.backend, workers.imagingPool])];
}
