/**
 * The GPU service's HTTP surface, built from injected dependencies (no globals):
 *   POST /v1/segment   HMAC-signed multipart from the edge -> SegmentResult (or the mask PNG)
 *   GET  /healthz      liveness, state in the body
 *   GET  /readyz       200 only when warmed up and accepting work
 *   GET  /metrics      Prometheus text from the injected registry
 *   GET  /v1/models    the loaded bundle's summary
 * One error handler turns ApiError into `{ error: { code, message } }` with its status.
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import { acceptsPng } from '../../../contract/accept.js';
import { ApiError } from '../../../contract/errors.js';
import { COALESCED_HEADER, type SignedContext } from '../../../contract/hmac.js';
import { LIMITS } from '../../../contract/limits.js';
import { CostBudget, DEFAULT_COST_BUDGET } from '../admission/cost-budget.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import { Coalescer } from './coalescer.js';
import { startDeadline } from '../pipeline/deadline.js';
import type { Logger } from '../core/logger.js';
import { ReplayGuard } from './replay-guard.js';
import { verifySignature } from './signature.js';
import { runAdmitted, type AdmissionDeps } from './segment-admission.js';
import type { SegmentOutcome, SegmentPipeline } from '../pipeline/segment-pipeline.js';
import { requestIo, type RequestIo } from './request-io.js';
import { parseSegmentRequest } from './segment-request.js';
import type { ServiceState } from './service-state.js';

export interface AppDeps {
  auth: { secret?: string; insecureNoAuth: boolean };
  /** `<id>@<version>` of the loaded bundle. */
  model: string;
  segment: SegmentPipeline;
  state: ServiceState;
  metrics: ServiceMetrics;
  /** Body of GET /v1/models. */
  models(): unknown;
  requestTimeoutMs: number;
  logger: Logger;
  maxBodyBytes?: number;
  /** Unix seconds, for the signature window. */
  nowSeconds?: () => number;
  /** Request ids already accepted (default: one of 200,000 ids). */
  replay?: ReplayGuard;
  /** Cost budgets and coalescing (default: DEFAULT_COST_BUDGET, a coalescer of its own). */
  admission?: Omit<AdmissionDeps, 'onComputation'>;
}

/** Unexpired request ids remembered by default (200,000 ids: about 30 MB). */
export const DEFAULT_REPLAY_MEMORY = 200_000;

export function createApp(deps: AppDeps): Hono {
  if (!deps.auth.secret && !deps.auth.insecureNoAuth) throw new Error('createApp: an HMAC secret is required');
  const app = new Hono();
  const maxBodyBytes = deps.maxBodyBytes ?? LIMITS.maxBodyBytes;
  const replay = deps.replay ?? new ReplayGuard({ maxEntries: DEFAULT_REPLAY_MEMORY, nowSeconds: deps.nowSeconds });
  const admission: AdmissionDeps = {
    budget: deps.admission?.budget ?? new CostBudget(DEFAULT_COST_BUDGET),
    coalescer: deps.admission?.coalescer ?? new Coalescer<SegmentOutcome>(),
    onComputation: () => deps.metrics.computations.inc(),
  };

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath === '*' || !c.req.routePath ? 'unmatched' : c.req.routePath;
    deps.metrics.requests.inc({ route, status: String(c.res.status) });
    deps.metrics.requestSeconds.observe({ route }, (performance.now() - started) / 1000);
  });

  app.post('/v1/segment', async (c) => {
    if (deps.state.draining) throw new ApiError('unavailable', 'the service is shutting down', 1);
    if (!deps.state.ready()) throw new ApiError('unavailable', 'the service is not ready', 1);
    deps.state.enter();
    try {
      return await segmentRoute(c, deps, maxBodyBytes, replay, admission);
    } finally {
      deps.state.leave();
    }
  });

  app.get('/healthz', (c) => c.json({ state: deps.state.health(), model: deps.model }));

  app.get('/readyz', (c) => {
    if (!deps.state.ready()) {
      throw new ApiError('unavailable', `not ready: ${deps.state.draining ? 'draining' : deps.state.health()}`);
    }
    return c.json({ ready: true, state: deps.state.health() });
  });

  app.get('/metrics', async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { 'content-type': deps.metrics.registry.contentType });
  });

  app.get('/v1/models', (c) => c.json(deps.models() as object));

  app.notFound(() => {
    throw new ApiError('not_found', 'no such route');
  });

  app.onError((error, c) => {
    const apiError = error instanceof ApiError ? error : undefined;
    if (!apiError) {
      deps.logger.error('unhandled error', {
        path: c.req.path,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    }
    const reply = apiError ?? new ApiError('internal', 'internal error');
    deps.metrics.errors.inc({ code: reply.code });
    return c.json(reply.toBody(), reply.status as 400, reply.headers());
  });

  return app;
}

async function segmentRoute(c: Context, deps: AppDeps, maxBodyBytes: number, replay: ReplayGuard, admission: AdmissionDeps): Promise<Response> {
  const io = requestIo(c);
  const body = await io.body(maxBodyBytes);
  const signed = checkSignature(c, deps, body, io, replay);
  const request = parseSegmentRequest(body, io.header('content-type'), deps.model);
  const wantPng = request.phrases.length === 1 && acceptsPng(io.header('accept'));

  const deadline = startDeadline(signed?.deadlineMs, deps.requestTimeoutMs, io.client);
  try {
    const job = { wantPng, tenant: signed?.tenant ?? '', deadlineMs: deadline.atMs, signal: deadline.signal };
    const { value, coalesced } = await runAdmitted(admission, deps.segment, request, job);
    if (coalesced) deps.metrics.coalescedRequests.inc();
    const { result, pngs } = value;
    const marks: Record<string, string> = coalesced ? { [COALESCED_HEADER]: '1' } : {};
    if (wantPng && pngs?.[0]) {
      return c.body(pngs[0] as Uint8Array<ArrayBuffer>, 200, {
        'content-type': 'image/png',
        'x-cris-result-id': result.id,
        'x-cris-model': result.model,
        'x-cris-score': String(result.results[0].score),
        ...marks,
      });
    }
    return c.json(result, 200, marks);
  } finally {
    deadline.dispose();
  }
}

/** The signed context of a valid, first-seen signature; undefined in insecure development mode. */
function checkSignature(c: Context, deps: AppDeps, body: Uint8Array, io: RequestIo, replay: ReplayGuard): SignedContext | undefined {
  if (!deps.auth.secret) return undefined; // insecure development mode, refused by config in production
  const verified = verifySignature(deps.auth.secret, {
    method: c.req.method,
    path: new URL(c.req.url).pathname,
    body,
    headers: { get: io.header },
    nowSeconds: deps.nowSeconds?.(),
  });
  if (!verified.ok) throw new ApiError('invalid_signature', `request signature ${verified.failure}`);
  replay.admit(verified.context.requestId, verified.timestampSeconds);
  return verified.context;
}
