/**
 * The imaging threads' queue. Decode + letterbox (`prepare`) and logits -> masks
 * (`postprocess`) jobs wait here, not in a worker's message queue, and leave in the batcher's
 * fair order (fair-order.ts: deficit round-robin across tenants, FIFO within one), one per
 * free imaging thread. A job costs what admission charges (admission/cost-budget.ts: ceil
 * megapixels x phrases), so a tenant's backlog of large photos gets the same megapixels per
 * round as another tenant's small one, and the small one waits for at most the jobs already
 * running. A job whose signal fired while it waited (its deadline passed, its client left) is
 * dropped before it starts.
 */
import type { Size } from '../../../contract/images.js';
import { requestCost } from '../admission/cost-budget.js';
import { imageDimensions } from '../admission/image-dimensions.js';
import type { PreparedImage } from '../core/types.js';
import type { ImagePreparer, Postprocessor } from '../core/backend.js';
import type { PostprocessInput, PostprocessOutput } from '../core/jobs.js';
import { abortError } from './dynamic-batcher.js';
import { TenantQueues } from './fair-order.js';

/** Whose job it is and when nobody waits for it any more. */
export interface ImagingJob {
  /** The edge's API key id ('' when unsigned). */
  tenant?: string;
  /** Fires at the deadline or when the client leaves. */
  signal?: AbortSignal;
}

export interface ImagingQueueOptions {
  /** Jobs running at once (the imaging threads). */
  concurrency: number;
  /** Cost units a tenant is credited per round (default 4: a 4 MP photo). */
  quantum?: number;
  /** Called for every job dropped because its signal fired while queued (metrics). */
  onDrop?(): void;
}

interface QueuedJob {
  tenant: string;
  /** Cost units (fair-order's rows). */
  rows: number;
  signal?: AbortSignal;
  start(): void;
  reject(error: unknown): void;
}

export class ImagingQueue {
  private readonly fair: TenantQueues<QueuedJob>;
  private running = 0;
  /** Jobs dropped because their signal fired while queued. */
  dropped = 0;

  constructor(
    private readonly threads: ImagePreparer & Postprocessor,
    private readonly options: ImagingQueueOptions,
  ) {
    if (options.concurrency < 1) throw new RangeError('ImagingQueue: concurrency must be >= 1');
    this.fair = new TenantQueues(options.quantum ?? 4);
  }

  /** Jobs waiting for a thread. */
  get depth(): number {
    return this.fair.size;
  }

  /** Jobs running on the threads right now. */
  get inFlight(): number {
    return this.running;
  }

  prepare(bytes: Uint8Array, originalSize?: Size, job: ImagingJob = {}, sha256?: string): Promise<PreparedImage> {
    const stored = imageDimensions(bytes);
    const cost = requestCost(stored ? stored.width * stored.height : undefined, 1);
    return this.enqueue(job, cost, () => this.threads.prepare(bytes, originalSize, sha256));
  }

  postprocess(input: PostprocessInput, job: ImagingJob = {}): Promise<PostprocessOutput> {
    const cost = requestCost(input.transform.width * input.transform.height, input.phraseCount);
    return this.enqueue(job, cost, () => this.threads.postprocess(input));
  }

  private enqueue<T>(job: ImagingJob, cost: number, run: () => Promise<T>): Promise<T> {
    const { signal } = job;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (!this.fair.remove(queued)) return; // already started
        this.drop(queued);
      };
      const queued: QueuedJob = {
        tenant: job.tenant ?? '',
        rows: cost,
        signal,
        reject,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.running++;
          run()
            .then(resolve, reject)
            .finally(() => {
              this.running--;
              this.serve();
            });
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.fair.push(queued);
      this.serve();
    });
  }

  /** Starts queued jobs, in fair order, while a thread is free. */
  private serve(): void {
    while (this.running < this.options.concurrency) {
      const [next] = this.fair.take(1);
      if (!next) return;
      if (next.signal?.aborted) this.drop(next);
      else next.start();
    }
  }

  private drop(job: QueuedJob): void {
    this.dropped++;
    this.options.onDrop?.();
    job.reject(abortError(job.signal!));
  }
}
