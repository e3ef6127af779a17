/**
 * The serving side's handle on its worker threads (worker-thread.ts). A pool has one role:
 * inference (each worker holds one ModelRunner and its own feature cache; `run`) or imaging
 * (bytes -> network input, `prepare`; logits -> masks, `postprocess`). A job goes to the worker
 * with the fewest jobs outstanding. A worker that dies fails its jobs and marks the pool failed.
 */
import type { Size } from '../../../contract/images.js';
import { Worker } from 'node:worker_threads';
import { ApiError } from '../../../contract/errors.js';
import type { ImagePreparer, InferenceBackend, Postprocessor } from '../core/backend.js';
import type { BatchInferenceOutput, BatchJob, PostprocessInput, PostprocessOutput } from '../core/jobs.js';
import type { ExecutionProvider, PreparedImage } from '../core/types.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { jobTransferables, transferables } from './protocol.js';

interface Pending {
  resolve(output: never): void;
  reject(error: unknown): void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  exited: boolean;
}

const WORKER_ENTRY = new URL('./bootstrap.mjs', import.meta.url);

/**
 * The young generation of each worker thread's V8 heap, in MiB: 3 = two 1 MiB semi-spaces and
 * 1 MiB for new large objects (V8's default here: 8 MiB semi-spaces). V8 starts marking the old
 * generation once what is left below its limit (the old objects and the external memory since
 * the last mark-compact, every ArrayBuffer included, counted against it) is no more than the new
 * space; a worker's ~10 MB heap gets a limit only ~16 MB above it, so with 8 MiB semi-spaces
 * the fused worker was marking most of the time: a mark-compact every 25-30 requests, 15-35 ms
 * of marking each. With 1 MiB ones a scavenge comes every few requests and costs about as much
 * as before, and mark-compacts all but stop (bench:worker-gc; gpu-service/README.md).
 */
export const WORKER_YOUNG_GENERATION_MB = 3;

export class WorkerPool implements InferenceBackend, Postprocessor, ImagePreparer {
  private nextJobId = 1;
  private closing = false;
  failure: string | undefined;

  private constructor(
    private readonly workers: PoolWorker[],
    readonly provider: ExecutionProvider,
    readonly providerNote?: string,
  ) {}

  get concurrency(): number {
    return this.workers.length;
  }

  /** Starts `count` workers and resolves once every one has loaded its bundle. */
  static async start(init: WorkerInit, count: number, entry: URL = WORKER_ENTRY): Promise<WorkerPool> {
    const started = await Promise.allSettled(
      Array.from({ length: count }, () => startWorker(init, entry)),
    );
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) {
      await Promise.all(
        started.map((result) => (result.status === 'fulfilled' ? result.value.worker.terminate() : undefined)),
      );
      throw (failed as PromiseRejectedResult).reason;
    }
    const ready = started.map((result) => (result as PromiseFulfilledResult<StartedWorker>).value);
    const pool = new WorkerPool(
      ready.map(({ worker }) => ({ worker, pending: new Map(), exited: false })),
      ready[0].provider,
      ready[0].providerNote,
    );
    for (const entryWorker of pool.workers) pool.watch(entryWorker);
    return pool;
  }

  run(job: BatchJob): Promise<BatchInferenceOutput> {
    return this.send((id) => ({ type: 'run', id, job }), jobTransferables(job));
  }

  postprocess(input: PostprocessInput): Promise<PostprocessOutput> {
    return this.send((id) => ({ type: 'postprocess', id, input }), transferables(input.presence ? [input.logits, input.presence] : [input.logits]));
  }

  prepare(bytes: Uint8Array, originalSize?: Size, sha256?: string): Promise<PreparedImage> {
    return this.send((id) => ({ type: 'prepare', id, bytes, originalSize, sha256 }), transferables([bytes]));
  }

  private send<T>(message: (id: number) => ToWorker, transfer: ArrayBuffer[]): Promise<T> {
    if (this.failure) return Promise.reject(new ApiError('unavailable', 'a worker thread has failed'));
    const target = this.workers.reduce((best, candidate) =>
      candidate.pending.size < best.pending.size ? candidate : best,
    );
    const id = this.nextJobId++;
    return new Promise<T>((resolve, reject) => {
      target.pending.set(id, { resolve: resolve as (output: never) => void, reject });
      target.worker.postMessage(message(id), transfer);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.filter((entry) => !entry.exited).map(
        ({ worker }) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 5000);
            worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            const message: ToWorker = { type: 'close' };
            worker.postMessage(message);
          }),
      ),
    );
  }

  private watch(entry: PoolWorker): void {
    entry.worker.on('message', (message: FromWorker) => {
      if (message.type !== 'result' && message.type !== 'error') return;
      const pending = entry.pending.get(message.id);
      if (!pending) return;
      entry.pending.delete(message.id);
      if (message.type === 'result') pending.resolve(message.output as never);
      else if (message.code) pending.reject(new ApiError(message.code, message.message));
      else pending.reject(new Error(`worker job failed: ${message.message}`));
    });
    const die = (reason: string) => {
      if (this.closing) return;
      this.failure = reason;
      for (const pending of entry.pending.values()) pending.reject(new Error(reason));
      entry.pending.clear();
    };
    entry.worker.on('error', (error) => die(`worker thread crashed: ${error.message}`));
    entry.worker.on('exit', (code) => {
      entry.exited = true;
      die(`worker thread exited with code ${code}`);
    });
  }
}

interface StartedWorker {
  worker: Worker;
  provider: ExecutionProvider;
  providerNote?: string;
}

function startWorker(init: WorkerInit, entry: URL): Promise<StartedWorker> {
  const worker = new Worker(entry, { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type === 'ready') {
        cleanup();
        resolve({ worker, provider: message.provider, providerNote: message.providerNote });
      } else if (message.type === 'init-error') {
        cleanup();
        void worker.terminate();
        reject(new Error(message.message));
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`worker thread exited with code ${code} while loading`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
