/**
 * Forwards one segmentation to the GPU service: HMAC-signed multipart (`image`, `text`...,
 * `options` JSON with the result key) to `POST /v1/segment`. One deadline for the whole call;
 * one retry, on a connection error or a 503, to the next backend URL; the circuit breaker is
 * told how it went.
 */
import { ApiError, isErrorCode } from '../../../contract/errors.js';
import { signRequest } from '../../../contract/hmac.js';
import type { ForwardOptions, SegmentResult } from '../../../contract/segment.js';
import type { CircuitBreaker } from './breaker.js';

export const SEGMENT_PATH = '/v1/segment';

export interface ForwardInput {
  image: Uint8Array;
  imageType: string;
  imageSha256: string;
  phrases: readonly string[];
  options: ForwardOptions;
}

export interface GpuClientOptions {
  urls: readonly string[];
  timeoutMs: number;
  hmacSecret: string;
  breaker: CircuitBreaker;
}

/** The signed multipart body, serialised once so the signature covers the exact bytes sent. */
export async function buildSignedBody(secret: string, input: ForwardInput): Promise<{ body: Uint8Array; headers: Record<string, string> }> {
  const form = new FormData();
  form.append('image', new Blob([input.image], { type: input.imageType || 'application/octet-stream' }), 'image');
  for (const phrase of input.phrases) form.append('text', phrase);
  form.append('options', JSON.stringify(input.options));
  const serialised = new Response(form);
  const body = new Uint8Array(await serialised.arrayBuffer());
  const signature = await signRequest(secret, 'POST', SEGMENT_PATH, body);
  return { body, headers: { 'content-type': serialised.headers.get('content-type') ?? 'multipart/form-data', ...signature } };
}

/** Backends in the order to try: a start chosen by the image hash (feature-cache affinity), then the next. */
export function backendOrder(urls: readonly string[], imageSha256: string): string[] {
  const start = parseInt(imageSha256.slice(0, 8), 16) % urls.length;
  return [urls[start], urls[(start + 1) % urls.length]];
}

type Attempt = { kind: 'answer'; response: Response } | { kind: 'retryable'; reason: string };

async function attempt(url: string, body: Uint8Array, headers: Record<string, string>, signal: AbortSignal): Promise<Attempt> {
  try {
    const response = await fetch(`${url}${SEGMENT_PATH}`, { method: 'POST', body, headers, signal });
    if (response.status === 503) {
      await response.body?.cancel();
      return { kind: 'retryable', reason: `${url} answered 503` };
    }
    return { kind: 'answer', response };
  } catch (error) {
    if (signal.aborted) throw new ApiError('timeout', 'The GPU tier did not answer in time.');
    return { kind: 'retryable', reason: `${url}: ${(error as Error).message}` };
  }
}

async function upstreamError(response: Response): Promise<ApiError> {
  const payload = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  const code = payload?.error?.code;
  const message = payload?.error?.message ?? `GPU service answered ${response.status}.`;
  // Client faults the service found (bad image, too many pixels, overload) pass through; the
  // edge's own faults (bad signature) and server errors do not.
  if (code && isErrorCode(code) && response.status < 500 && code !== 'invalid_signature' && code !== 'unauthorized') {
    const retryAfter = Number(response.headers.get('retry-after'));
    return new ApiError(code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
  }
  console.error('gpu service error', response.status, code, message);
  return new ApiError('upstream_error', 'The GPU tier failed to answer.');
}

export async function forwardSegment(options: GpuClientOptions, input: ForwardInput): Promise<SegmentResult> {
  options.breaker.admit();
  const { body, headers } = await buildSignedBody(options.hmacSecret, input);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const reasons: string[] = [];
  try {
    for (const url of backendOrder(options.urls, input.imageSha256)) {
      const outcome = await attempt(url, body, headers, signal);
      if (outcome.kind === 'retryable') {
        reasons.push(outcome.reason);
        continue;
      }
      const { response } = outcome;
      if (!response.ok) {
        const error = await upstreamError(response);
        if (error.status >= 500) options.breaker.failed();
        else options.breaker.succeeded(); // the tier is up; the request was at fault
        throw error;
      }
      const result = (await response.json().catch((error: Error) => {
        if (signal.aborted) throw new ApiError('timeout', 'The GPU tier did not answer in time.');
        throw new ApiError('upstream_error', `The GPU tier sent an unreadable answer (${error.message}).`);
      })) as SegmentResult;
      options.breaker.succeeded();
      return result;
    }
  } catch (error) {
    if (error instanceof ApiError && error.code === 'timeout') options.breaker.failed();
    throw error;
  }
  options.breaker.failed();
  console.warn('gpu tier unavailable:', reasons.join('; '));
  throw new ApiError('unavailable', 'The GPU tier is unavailable; try again later.', options.breaker.retryAfterSeconds());
}
