/**
 * POST /v1/segment, whatever carries it (the Hono route in app.ts, or the Node server's request
 * straight, node-listener.ts): lifecycle (503 while starting or draining) -> body under the byte
 * limit -> HMAC signature and replay guard -> multipart parsing and validation -> Accept
 * negotiation -> deadline -> coalescing, tenant admission, the pipeline -> the SegmentResult
 * JSON or the mask PNG. One instance per app, so both carriers share one replay guard, one cost
 * budget and one coalescer. Failures throw ApiError (errorAnswer makes their answer).
 */
import { acceptsPng } from '../../../contract/accept.js';
import { ApiError } from '../../../contract/errors.js';
import { COALESCED_HEADER, type SignedContext } from '../../../contract/hmac.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import { startDeadline } from '../pipeline/deadline.js';
import type { SegmentPipeline } from '../pipeline/segment-pipeline.js';
import { jsonAnswer, type HttpAnswer } from './http-answer.js';
import type { ReplayGuard } from './replay-guard.js';
import type { RequestIo } from './request-io.js';
import { runAdmitted, type AdmissionDeps } from './segment-admission.js';
import { parseSegmentRequest } from './segment-request.js';
import type { ServiceState } from './service-state.js';
import { verifySignature } from './signature.js';

export const SEGMENT_PATH = '/v1/segment';

export interface SegmentRouteDeps {
  /** No secret: insecure development mode (refused by config in production). */
  secret?: string;
  model: string;
  segment: SegmentPipeline;
  state: ServiceState;
  metrics: ServiceMetrics;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  replay: ReplayGuard;
  admission: AdmissionDeps;
  /** Unix seconds, for the signature window. */
  nowSeconds?: () => number;
}

export type SegmentRoute = (io: RequestIo) => Promise<HttpAnswer>;

export function createSegmentRoute(deps: SegmentRouteDeps): SegmentRoute {
  return async (io) => {
    if (deps.state.draining) throw new ApiError('unavailable', 'the service is shutting down', 1);
    if (!deps.state.ready()) throw new ApiError('unavailable', 'the service is not ready', 1);
    deps.state.enter();
    try {
      return await answer(io, deps);
    } finally {
      deps.state.leave();
    }
  };
}

async function answer(io: RequestIo, deps: SegmentRouteDeps): Promise<HttpAnswer> {
  const body = await io.body(deps.maxBodyBytes);
  const signed = checkSignature(body, io, deps);
  const request = parseSegmentRequest(body, io.header('content-type'), deps.model);
  const wantPng = request.phrases.length === 1 && acceptsPng(io.header('accept'));

  const deadline = startDeadline(signed?.deadlineMs, deps.requestTimeoutMs, io.client);
  try {
    const job = { wantPng, tenant: signed?.tenant ?? '', deadlineMs: deadline.atMs, signal: deadline.signal };
    const { value, coalesced } = await runAdmitted(deps.admission, deps.segment, request, job);
    if (coalesced) deps.metrics.coalescedRequests.inc();
    const { result, pngs } = value;
    const marks: Record<string, string> = coalesced ? { [COALESCED_HEADER]: '1' } : {};
    if (wantPng && pngs?.[0]) {
      const headers = { 'content-type': 'image/png', 'x-cris-result-id': result.id, 'x-cris-model': result.model, 'x-cris-score': String(result.results[0].score), ...marks };
      return { status: 200, headers, body: pngs[0] };
    }
    return jsonAnswer(200, result, marks);
  } finally {
    deadline.dispose();
  }
}

/** The signed context of a valid, first-seen signature; undefined in insecure development mode. */
function checkSignature(body: Uint8Array, io: RequestIo, deps: SegmentRouteDeps): SignedContext | undefined {
  if (!deps.secret) return undefined;
  const verified = verifySignature(deps.secret, {
    method: 'POST',
    path: io.path(),
    body,
    headers: { get: io.header },
    nowSeconds: deps.nowSeconds?.(),
  });
  if (!verified.ok) throw new ApiError('invalid_signature', `request signature ${verified.failure}`);
  deps.replay.admit(verified.context.requestId, verified.timestampSeconds);
  return verified.context;
}
