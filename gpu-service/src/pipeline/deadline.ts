/**
 * A request's deadline: the edge's signed one (unix ms), capped by the service's own request
 * timeout, as an AbortSignal that also fires when the client goes away. Every stage checks it
 * (queued, before the image encoder, before the head, before storing): work nobody waits for is
 * dropped, and never stored (a stored late result would be a free cache hit on the retry).
 */
import { ApiError } from '../../../contract/errors.js';

export interface RequestDeadline {
  /** Unix ms. */
  atMs: number;
  /** Fires at the deadline (reason: ApiError timeout) or when the client leaves. */
  signal: AbortSignal;
  dispose(): void;
}

/** `request`: the request's own controller (the client leaving aborts it), which the deadline aborts too. */
export function startDeadline(
  signedDeadlineMs: number | undefined,
  timeoutMs: number,
  request: AbortController = new AbortController(),
  nowMs: number = Date.now(),
): RequestDeadline {
  const atMs = Math.min(signedDeadlineMs ?? Infinity, nowMs + timeoutMs);
  const reason = () =>
    new ApiError(
      'timeout',
      signedDeadlineMs !== undefined && signedDeadlineMs <= nowMs + timeoutMs
        ? 'the deadline the edge set passed before the answer was ready'
        : `the request took more than ${timeoutMs} ms`,
      1,
    );
  const wait = atMs - nowMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (wait <= 0) request.abort(reason());
  else timer = setTimeout(() => request.abort(reason()), wait);
  return {
    atMs,
    signal: request.signal,
    dispose: () => clearTimeout(timer),
  };
}

/** Why a fired signal fired, as the ApiError to answer (timeout, or the client's abort). */
export function abortReason(signal: AbortSignal, stage = 'before the answer'): ApiError {
  const reason: unknown = signal.reason;
  return reason instanceof ApiError ? reason : new ApiError('bad_request', `the client closed the request (${stage})`);
}

/** Throws abortReason when the signal has fired. */
export function checkDeadline(signal: AbortSignal | undefined, stage: string): void {
  if (signal?.aborted) throw abortReason(signal, stage);
}
