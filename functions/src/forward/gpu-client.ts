/**
 * Forwards one segmentation to the GPU service: HMAC-signed multipart (`image`, `text`...,
 * `options` JSON with the result key) to `POST /v1/segment`. One deadline for the whole call,
 * sent to the service (signed, a margin before the edge gives up, so the service drops work
 * nobody will wait for); each attempt is signed with a request id of its own (the service
 * refuses a replayed one) and the tenant (the API key id). One retry, on a connection error or
 * a 503, to the next backend URL; the client's disconnect aborts the call; the circuit breaker is
 * told how it went (the rule is in breaker.ts: an edge timeout is settled by a /readyz probe).
 */
import { ApiError, isErrorCode } from '../../../contract/errors.js';
import { COALESCED_HEADER, sha256Hex, signRequest } from '../../../contract/hmac.js';
import type { ForwardOptions, SegmentResult } from '../../../contract/segment.js';
import { RETRY_AFTER_TIMEOUT_S } from '../http/timeout.js';
import type { CircuitBreaker } from './breaker.js';
import type { GpuTierHealth } from './gpu-health.js';

export const SEGMENT_PATH = '/v1/segment';
export const READY_PATH = '/readyz';
/** The deadline sent to the service is this long before the edge's own abort (at most half the timeout). */
export const DEADLINE_MARGIN_MS = 1500;

export interface ForwardInput {
  image: Uint8Array;
  imageType: string;
  imageSha256: string;
  /** The API key id the request is for (signed; the service shares its queue per tenant). */
  tenant: string;
  phrases: readonly string[];
  options: ForwardOptions;
}

export interface GpuClientOptions {
  urls: readonly string[];
  timeoutMs: number;
  /** Timeout of the breaker's /readyz probe. */
  probeTimeoutMs: number;
  hmacSecret: string;
  breaker: CircuitBreaker;
  /** Told every attempt's answer (for `/healthz`). */
  health?: GpuTierHealth;
}

/** Per request: the client's disconnect, and where background work (the breaker's probe) runs. */
export interface ForwardContext {
  clientSignal?: AbortSignal;
  waitUntil: (promise: Promise<unknown>) => void;
}

/** Thrown when the client went away before the answer: nothing to answer, nothing to bill. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientGone';
  }
}

export interface SignedBody {
  body: Uint8Array;
  /** Content type and the signature headers of one attempt. */
  headers(): Promise<Record<string, string>>;
}

/**
 * The multipart body, serialised (and hashed) once so every signature covers the exact bytes
 * sent; `headers()` signs one attempt: a new request id each call, the same tenant and deadline.
 */
export async function buildSignedBody(secret: string, input: ForwardInput, deadlineMs: number): Promise<SignedBody> {
  const form = new FormData();
  form.append('image', new Blob([input.image], { type: input.imageType || 'application/octet-stream' }), 'image');
  for (const phrase of input.phrases) form.append('text', phrase);
  form.append('options', JSON.stringify(input.options));
  const serialised = new Response(form);
  const body = new Uint8Array(await serialised.arrayBuffer());
  const contentType = serialised.headers.get('content-type') ?? 'multipart/form-data';
  const digest = { sha256: await sha256Hex(body) };
  return {
    body,
    headers: async () => ({
      'content-type': contentType,
      ...(await signRequest(secret, { method: 'POST', path: SEGMENT_PATH, body: digest, tenant: input.tenant, deadlineMs })),
    }),
  };
}

/** The deadline the service is told for a call that the edge aborts after `timeoutMs`. */
export function serviceDeadline(startedMs: number, timeoutMs: number): number {
  return startedMs + timeoutMs - Math.min(DEADLINE_MARGIN_MS, timeoutMs / 2);
}

/** Backends in the order to try: a start chosen by the image hash (feature-cache affinity), then the next. */
export function backendOrder(urls: readonly string[], imageSha256: string): string[] {
  const start = parseInt(imageSha256.slice(0, 8), 16) % urls.length;
  return [urls[start], urls[(start + 1) % urls.length]];
}

/** Whether the backend answers `/readyz` with 200 within `timeoutMs`. */
export async function probeReady(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${url}${READY_PATH}`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

type Attempt = { kind: 'answer'; response: Response } | { kind: 'retryable'; reason: string };

/** The edge's own timeout fired while waiting for `url`. */
class EdgeTimeout extends Error {
  constructor(readonly url: string) {
    super(`${url} did not answer in time`);
  }
}

async function attempt(url: string, body: Uint8Array, headers: Record<string, string>, signal: AbortSignal, timeout: AbortSignal, health?: GpuTierHealth): Promise<Attempt> {
  try {
    const response = await fetch(`${url}${SEGMENT_PATH}`, { method: 'POST', body, headers, signal });
    health?.record(response.status);
    if (response.status === 503) {
      await response.body?.cancel();
      return { kind: 'retryable', reason: `${url} answered 503` };
    }
    return { kind: 'answer', response };
  } catch (error) {
    if (timeout.aborted) {
      health?.record('timeout');
      throw new EdgeTimeout(url);
    }
    if (signal.aborted) throw new ClientGone();
    health?.record('unreachable');
    return { kind: 'retryable', reason: `${url}: ${(error as Error).message}` };
  }
}

async function upstreamError(response: Response): Promise<ApiError> {
  const payload = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  const code = payload?.error?.code;
  const message = payload?.error?.message ?? `GPU service answered ${response.status}.`;
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  // The service's own deadline passed (its 504): the request was too slow, the tier is up.
  if (response.status === 504 && code === 'timeout') return new ApiError('timeout', message, retryAfterSeconds ?? RETRY_AFTER_TIMEOUT_S);
  // Client faults the service found (bad image, too many pixels, overload) pass through; the
  // edge's own faults (bad signature) and server errors do not.
  if (code && isErrorCode(code) && response.status < 500 && code !== 'invalid_signature' && code !== 'replayed_request' && code !== 'unauthorized') {
    return new ApiError(code, message, retryAfterSeconds);
  }
  console.error('gpu service error', response.status, code, message);
  return new ApiError('upstream_error', 'The GPU tier failed to answer.');
}

/** The edge gave up waiting: 504 now; the breaker hears in the background whether the backend is frozen. */
function edgeTimedOut(options: GpuClientOptions, context: ForwardContext, url: string): ApiError {
  context.waitUntil(
    probeReady(url, options.probeTimeoutMs).then((ready) => {
      if (ready) return;
      console.warn(`gpu tier frozen: ${url} timed out and ${READY_PATH} did not answer within ${options.probeTimeoutMs} ms`);
      options.breaker.frozen();
    }),
  );
  return new ApiError('timeout', `The GPU tier did not answer within ${options.timeoutMs} ms; try again.`, RETRY_AFTER_TIMEOUT_S);
}

export interface ForwardOutcome {
  result: SegmentResult;
  /** The service answered with the computation of an identical concurrent request of this tenant: not billed. */
  coalesced: boolean;
}

export async function forwardSegment(options: GpuClientOptions, input: ForwardInput, context: ForwardContext): Promise<ForwardOutcome> {
  const order = backendOrder(options.urls, input.imageSha256);
  if (options.breaker.admit() === 'probe') {
    const ready = await probeReady(order[0], options.probeTimeoutMs);
    options.breaker.probed(ready);
    if (!ready) throw options.breaker.unavailable();
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = context.clientSignal ? AbortSignal.any([timeout, context.clientSignal]) : timeout;
  const signed = await buildSignedBody(options.hmacSecret, input, serviceDeadline(Date.now(), options.timeoutMs));
  const reasons: string[] = [];
  try {
    for (const url of order) {
      const outcome = await attempt(url, signed.body, await signed.headers(), signal, timeout, options.health);
      if (outcome.kind === 'retryable') {
        reasons.push(outcome.reason);
        continue;
      }
      const { response } = outcome;
      if (!response.ok) {
        const error = await upstreamError(response);
        if (error.code === 'upstream_error') options.breaker.failed();
        else options.breaker.succeeded(); // the tier is up; the request was at fault (or too slow)
        throw error;
      }
      const result = (await response.json().catch((error: Error) => {
        if (timeout.aborted) throw new EdgeTimeout(url);
        if (signal.aborted) throw new ClientGone();
        throw new ApiError('upstream_error', `The GPU tier sent an unreadable answer (${error.message}).`);
      })) as SegmentResult;
      options.breaker.succeeded();
      return { result, coalesced: response.headers.get(COALESCED_HEADER) === '1' };
    }
  } catch (error) {
    if (error instanceof EdgeTimeout) throw edgeTimedOut(options, context, error.url);
    throw error;
  }
  options.breaker.failed();
  console.warn('gpu tier unavailable:', reasons.join('; '));
  throw new ApiError('unavailable', 'The GPU tier is unavailable; try again later.', options.breaker.retryAfterSeconds());
}
