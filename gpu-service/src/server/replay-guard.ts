/**
 * The request ids of signatures already accepted, remembered while their signature could still
 * be valid (its timestamp +- the signature window), so a captured request cannot be replayed.
 * Bounded: expired ids are evicted oldest first; when `maxEntries` unexpired ids are held, new
 * requests are refused (503) rather than an id forgotten early.
 */
import { ApiError } from '../../../contract/errors.js';
import { SIGNATURE_WINDOW_SECONDS } from '../../../contract/hmac.js';

export interface ReplayGuardOptions {
  maxEntries: number;
  /** Unix seconds. */
  nowSeconds?: () => number;
}

export class ReplayGuard {
  /** request id -> unix second after which its signature is expired (insertion ordered). */
  private readonly seen = new Map<string, number>();
  private readonly nowSeconds: () => number;

  constructor(private readonly options: ReplayGuardOptions) {
    if (options.maxEntries < 1) throw new RangeError('ReplayGuard: maxEntries must be >= 1');
    this.nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  }

  get size(): number {
    return this.seen.size;
  }

  /** Records an accepted signature's id; throws 401 replayed_request when it was seen before. */
  admit(requestId: string, timestampSeconds: number): void {
    const now = this.nowSeconds();
    this.evict(now);
    if (this.seen.has(requestId)) throw new ApiError('replayed_request', 'this signed request was already accepted');
    if (this.seen.size >= this.options.maxEntries) {
      throw new ApiError('unavailable', 'too many signed requests in the signature window', 1);
    }
    this.seen.set(requestId, timestampSeconds + SIGNATURE_WINDOW_SECONDS);
  }

  /**
   * Drops expired ids from the front. Ids arrive roughly in timestamp order; one with an earlier
   * expiry behind a later one waits for it (kept a little longer, never dropped early).
   */
  private evict(now: number): void {
    for (const [id, expires] of this.seen) {
      if (expires >= now) return;
      this.seen.delete(id);
    }
  }
}
