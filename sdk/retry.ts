/**
 * When and how long to wait before trying a request again: 429, 502, 503, 504, a network failure
 * (status 0) and a 409 that carries Retry-After (the same Idempotency-Key still in progress) are
 * retried, with exponential backoff and jitter (half to all of each step), a server's Retry-After
 * honoured when it is within bounds. Which requests may be retried at all (GET; POST only with an
 * Idempotency-Key) is the transport's rule (transport.ts).
 */

export interface RetryOptions {
  /** Attempts in all, the first included (default 4; 1 turns retries off). */
  maxAttempts?: number;
  /** First backoff step in ms (default 500); doubles each attempt. */
  baseDelayMs?: number;
  /** Longest wait between two attempts in ms (default 8000). */
  maxDelayMs?: number;
  /**
   * A Retry-After longer than this (ms, default 30000) is not waited out: the error is thrown at
   * once (a spent monthly quota will not come back in a few seconds).
   */
  maxRetryAfterMs?: number;
}

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Whether a failure of this status (0: no response) is worth another attempt. */
export function isRetryable(status: number, retryAfterSeconds: number | undefined): boolean {
  return status === 0 || RETRYABLE_STATUSES.has(status) || (status === 409 && retryAfterSeconds !== undefined);
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = {
    maxAttempts: options.maxAttempts ?? 4,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 8000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError('retry.maxAttempts must be an integer >= 1');
  }
  if (policy.baseDelayMs < 0 || policy.maxDelayMs < 0 || policy.maxRetryAfterMs < 0) {
    throw new RangeError('retry delays must be >= 0');
  }
  return policy;
}

/**
 * Milliseconds to wait before attempt `attempt + 1` (attempt counts from 1), or `null` when the
 * request must not be retried.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  status: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | null {
  if (!isRetryable(status, retryAfterSeconds) || attempt >= policy.maxAttempts) return null;
  if (retryAfterSeconds !== undefined) {
    const serverMs = retryAfterSeconds * 1000;
    return serverMs > policy.maxRetryAfterMs ? null : serverMs;
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** setTimeout as a promise that an AbortSignal cuts short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
