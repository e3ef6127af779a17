/**
 * Result writes that failed, retried in the background with exponential backoff from a bounded
 * in-memory queue: a result computed while S3 was down still lands once it is back. Past
 * `maxEntries` waiting writes, or after `maxAttempts`, a write is dropped (counted).
 */
export interface WriteRetryOptions {
  maxEntries: number;
  maxAttempts: number;
  /** First retry after this long, doubling each attempt (capped at 60 s). */
  baseDelayMs: number;
  onDrop?(): void;
  /** Called with the new depth whenever it changes (a gauge). */
  onDepth?(depth: number): void;
}

export class WriteRetryQueue {
  private waiting = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  dropped = 0;

  constructor(private readonly options: WriteRetryOptions) {
    if (options.maxEntries < 1 || options.maxAttempts < 1) throw new RangeError('WriteRetryQueue: maxEntries and maxAttempts must be >= 1');
  }

  /** Writes waiting for their next attempt. */
  get depth(): number {
    return this.waiting;
  }

  /** Queues `write` (resolves true once written); false when the queue is full (dropped). */
  enqueue(write: () => Promise<boolean>): boolean {
    if (this.waiting >= this.options.maxEntries) {
      this.drop();
      return false;
    }
    this.waiting++;
    this.options.onDepth?.(this.waiting);
    this.schedule(write, 1);
    return true;
  }

  /** Cancels the pending retries (shutdown). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waiting = 0;
  }

  private schedule(write: () => Promise<boolean>, attempt: number): void {
    const delay = Math.min(60_000, this.options.baseDelayMs * 2 ** (attempt - 1));
    const timer = setTimeout(async () => {
      this.timers.delete(timer);
      const done = await write().catch(() => false);
      if (done || attempt >= this.options.maxAttempts) {
        this.waiting--;
        this.options.onDepth?.(this.waiting);
        if (!done) this.drop();
      } else {
        this.schedule(write, attempt + 1);
      }
    }, delay);
    timer.unref?.();
    this.timers.add(timer);
  }

  private drop(): void {
    this.dropped++;
    this.options.onDrop?.();
  }
}
