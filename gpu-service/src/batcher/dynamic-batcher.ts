/**
 * A bounded request queue that forms batches the way Triton's dynamic batcher does:
 * a batch leaves as soon as it holds `maxBatch` rows, or when its oldest request has waited
 * `maxQueueDelayMs` — unless nothing is running (`idle`): then a request leaves at once, since
 * waiting for company would only idle the accelerator. A full queue refuses at once (429 overloaded + Retry-After); a request
 * whose AbortSignal fires while queued (client gone, timeout) is dropped before it runs.
 *
 * Rows are head-batch rows (one per phrase); a request is never split across batches, and a
 * request with more rows than `maxBatch` travels alone. Requests carry their tenant (the edge's
 * API key id): a batch is filled by deficit round-robin across tenants (fair-order.ts), FIFO
 * within one, so one tenant's backlog cannot hold another tenant's request.
 */
import { ApiError } from '../../../contract/errors.js';
import { TenantQueues } from './fair-order.js';

export interface BatcherOptions {
  maxBatch: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  /** Retry-After sent with 429 overloaded. */
  retryAfterSeconds?: number;
  /**
   * True when no batch is running anywhere (the scheduler's in-flight count is 0): a queued
   * request then leaves at once instead of waiting maxQueueDelayMs. Absent: always wait.
   */
  idle?(): boolean;
  /** Called for every request dropped because its signal fired while queued (metrics). */
  onDrop?(): void;
}

export interface QueuedRequest<P, R> {
  payload: P;
  rows: number;
  /** Whose request it is (one share of the queue per tenant). */
  tenant: string;
  enqueuedAt: number;
  signal?: AbortSignal;
  resolve(result: R): void;
  reject(error: unknown): void;
}

interface Waiter<P, R> {
  resolve(batch: QueuedRequest<P, R>[] | null): void;
}

export class DynamicBatcher<P, R> {
  /** Every queued request in arrival order (depth, the oldest wait, drops). */
  private readonly queue: QueuedRequest<P, R>[] = [];
  /** The same requests per tenant, in the order they leave. */
  private readonly fair: TenantQueues<QueuedRequest<P, R>>;
  private readonly waiters: Waiter<P, R>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Requests dropped because their signal fired while queued. */
  dropped = 0;

  constructor(private readonly options: BatcherOptions) {
    if (options.maxBatch < 1 || options.maxQueueSize < 1 || options.maxQueueDelayMs < 0) {
      throw new RangeError('batcher: maxBatch and maxQueueSize must be >= 1, maxQueueDelayMs >= 0');
    }
    this.fair = new TenantQueues(options.maxBatch);
  }

  /** Requests waiting for a batch. */
  get depth(): number {
    return this.queue.length;
  }

  /** Queues a request; settles when the batch that carries it has run. */
  append(payload: P, rows: number, signal?: AbortSignal, tenant = ''): Promise<R> {
    if (this.closed) return Promise.reject(new ApiError('unavailable', 'the service is shutting down'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.queue.length >= this.options.maxQueueSize) {
      return Promise.reject(
        new ApiError('overloaded', 'the inference queue is full, retry later', this.options.retryAfterSeconds ?? 1),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const request: QueuedRequest<P, R> = { payload, rows: Math.max(1, rows), tenant, enqueuedAt: Date.now(), signal, resolve, reject };
      this.queue.push(request);
      this.fair.push(request);
      this.serve();
      // Only a request left waiting needs to hear its signal (one taken at once, e.g. into an idle
      // batcher, is past dropping): an AbortSignal listener costs ~20 us on a cold event loop.
      if (signal && this.queue.includes(request)) signal.addEventListener('abort', () => this.drop(request), { once: true });
    });
  }

  /**
   * The next batch: resolves when one is due (full, or its oldest request waited
   * maxQueueDelayMs), or `null` once the batcher is closed and empty.
   */
  nextBatch(): Promise<QueuedRequest<P, R>[] | null> {
    return new Promise((resolve) => {
      this.waiters.push({ resolve });
      this.serve();
    });
  }

  /** Stops accepting requests; queued ones are still handed out, then nextBatch gives null. */
  close(): void {
    this.closed = true;
    this.serve();
  }

  private drop(request: QueuedRequest<P, R>): void {
    const index = this.queue.indexOf(request);
    if (index < 0) return; // already taken into a batch
    this.queue.splice(index, 1);
    this.fair.remove(request);
    this.dropped++;
    this.options.onDrop?.();
    request.reject(abortError(request.signal!));
    this.serve();
  }

  private queuedRows(): number {
    let rows = 0;
    for (const request of this.queue) rows += request.rows;
    return rows;
  }

  /** Hands batches to waiting consumers while one is due; otherwise arms the delay timer. */
  private serve(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.waiters.length > 0) {
      if (this.queue.length === 0) {
        if (!this.closed) return;
        this.waiters.shift()!.resolve(null);
        continue;
      }
      const waited = Date.now() - this.queue[0].enqueuedAt;
      const due =
        this.closed ||
        this.queuedRows() >= this.options.maxBatch ||
        waited >= this.options.maxQueueDelayMs ||
        this.options.idle?.() === true;
      if (!due) {
        this.timer = setTimeout(() => this.serve(), this.options.maxQueueDelayMs - waited);
        return;
      }
      const batch = this.take();
      if (batch.length > 0) this.waiters.shift()!.resolve(batch);
    }
  }

  /** Takes requests in fair order up to maxBatch rows (at least one request). */
  private take(): QueuedRequest<P, R>[] {
    const batch: QueuedRequest<P, R>[] = [];
    for (const next of this.fair.take(this.options.maxBatch)) {
      this.queue.splice(this.queue.indexOf(next), 1);
      if (next.signal?.aborted) {
        this.dropped++;
        this.options.onDrop?.();
        next.reject(abortError(next.signal));
        continue;
      }
      batch.push(next);
    }
    return batch;
  }
}

/** Why a queued request whose signal fired is refused: the signal's ApiError (timeout), else the client left. */
export function abortError(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof ApiError) return reason;
  return new ApiError('bad_request', 'the client closed the request before it ran');
}
