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
import type { RequestListener } from 'node:http';
import { ApiError } from '../../../contract/errors.js';
import { LIMITS } from '../../../contract/limits.js';
import { CostBudget, DEFAULT_COST_BUDGET } from '../admission/cost-budget.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import { Coalescer } from './coalescer.js';
import type { Logger } from '../core/logger.js';
import { errorAnswer, recordRequest, toResponse } from './http-answer.js';
import { createNodeListener } from './node-listener.js';
import { ReplayGuard } from './replay-guard.js';
import type { AdmissionDeps } from './segment-admission.js';
import type { SegmentOutcome, SegmentPipeline } from '../pipeline/segment-pipeline.js';
import { requestIo } from './request-io.js';
import { SEGMENT_PATH, createSegmentRoute } from './segment-route.js';
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

export interface ServiceHttp {
  app: Hono;
  /**
   * The Node server's request listener: POST /v1/segment answered on the Node request and
   * response themselves (node-listener.ts), everything else through `app` (@hono/node-server).
   * `hostname`: the URL host of a request without a Host header (serve()'s `hostname`).
   */
  nodeListener(options?: { hostname?: string }): RequestListener;
}

/** The Hono app alone (tests call app.request). */
export function createApp(deps: AppDeps): Hono {
  return createServiceHttp(deps).app;
}

export function createServiceHttp(deps: AppDeps): ServiceHttp {
  if (!deps.auth.secret && !deps.auth.insecureNoAuth) throw new Error('createApp: an HMAC secret is required');
  const app = new Hono();
  const admission: AdmissionDeps = {
    budget: deps.admission?.budget ?? new CostBudget(DEFAULT_COST_BUDGET),
    coalescer: deps.admission?.coalescer ?? new Coalescer<SegmentOutcome>(),
    onComputation: () => deps.metrics.computations.inc(),
  };
  const segmentRoute = createSegmentRoute({
    secret: deps.auth.secret || undefined,
    model: deps.model,
    segment: deps.segment,
    state: deps.state,
    metrics: deps.metrics,
    requestTimeoutMs: deps.requestTimeoutMs,
    maxBodyBytes: deps.maxBodyBytes ?? LIMITS.maxBodyBytes,
    replay: deps.replay ?? new ReplayGuard({ maxEntries: DEFAULT_REPLAY_MEMORY, nowSeconds: deps.nowSeconds }),
    admission,
    nowSeconds: deps.nowSeconds,
  });

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath === '*' || !c.req.routePath ? 'unmatched' : c.req.routePath;
    recordRequest(deps.metrics, route, c.res.status, started);
  });

  app.post(SEGMENT_PATH, async (c) => toResponse(c, await segmentRoute(requestIo(c))));

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

  app.onError((error, c) => toResponse(c, errorAnswer(error, c.req.path, deps)));

  return { app, nodeListener: (options = {}) => createNodeListener(app, segmentRoute, { ...deps, hostname: options.hostname }) };
}
