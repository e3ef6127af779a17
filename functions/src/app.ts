/**
 * Composition root: wires config (parsed once per bindings object), the per-isolate circuit
 * breaker, middleware and routes. Nothing else holds state across requests.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { timing } from 'hono/timing';
import { ApiError } from '../../contract/errors.js';
import { LIMITS } from '../../contract/limits.js';
import type { ModelsList } from '../../contract/reports.js';
import type { SegmentResult } from '../../contract/segment.js';
import { bearerAuth } from './auth/bearer.js';
import { KeyLookupCache } from './auth/key-cache.js';
import { ResultMemo } from './cache/result-memo.js';
import { S3Health } from './cache/s3-health.js';
import { parseConfig, type AppEnv, type EdgeConfig } from './env.js';
import { CircuitBreaker } from './forward/breaker.js';
import { GpuTierHealth } from './forward/gpu-health.js';
import { PendingHits } from './meter/pending-hits.js';
import type { GpuClientOptions } from './forward/gpu-client.js';
import { onError, onNotFound } from './http/errors.js';
import { registerMethodNotAllowed } from './http/method-not-allowed.js';
import { registerOpenApi } from './http/openapi.js';
import { requestState } from './http/request-state.js';
import { resultHandler } from './routes/results.js';
import { segmentHandler } from './routes/segment.js';
import { usageHandler } from './routes/usage.js';

export const EXPOSED_HEADERS = ['x-cache', 'x-result-id', 'retry-after', 'location', 'etag', 'idempotent-replayed', 'preference-applied', 'server-timing', 'www-authenticate', 'allow'];

export function createApp(): OpenAPIHono<AppEnv> {
  const configs = new WeakMap<Bindings, { config: EdgeConfig; breaker: CircuitBreaker; health: GpuTierHealth; s3Health: S3Health }>();
  const state = (env: Bindings) => {
    let entry = configs.get(env);
    if (!entry) {
      const config = parseConfig(env);
      const breaker = new CircuitBreaker({ failures: config.breaker.failures, cooldownMs: config.breaker.cooldownSeconds * 1000 });
      entry = { config, breaker, health: new GpuTierHealth(), s3Health: new S3Health(config.timeouts.s3SkipMs) };
      configs.set(env, entry);
    }
    return entry;
  };
  // Per-isolate memo of key lookups: a revoked key stops working here within 5 s.
  const keyMemo = new KeyLookupCache(5_000, 10_000);
  const auth = bearerAuth(keyMemo);
  // Per-isolate memo of recent results (immutable by key): a hot hit skips the Cache API.
  const resultMemo = new ResultMemo(512, 16 * 1024 * 1024);
  const inFlight = new Map<string, Promise<SegmentResult>>();
  // Cache hits ride on the key's next KeyMeter call from this isolate, or are booked within 100 ms.
  const pendingHits = new PendingHits(100);
  const gpuOptions = (env: Bindings): GpuClientOptions => {
    const { config, breaker, health } = state(env);
    return {
      urls: config.gpuServiceUrls,
      timeoutMs: config.gpuTimeoutMs,
      probeTimeoutMs: config.breaker.probeTimeoutMs,
      hmacSecret: config.hmacSecret,
      breaker,
      health,
    };
  };

  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ApiError('bad_request', result.error.issues.map((issue) => issue.message).join('; '));
    },
  });
  app.onError(onError);
  app.notFound(onNotFound);

  // Server-Timing: where a request's time went (auth, meter, cache, gpu), for clients and benchmarks.
  app.use('/v1/*', timing({ crossOrigin: true }));
  // API answers are JSON (or a PNG): nothing may run, frame or refer from them. The playground's
  // static files get theirs from functions/public/_headers.
  app.use('*', secureHeaders({
    crossOriginResourcePolicy: 'cross-origin',
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
  }));
  app.use(
    '*',
    cors({
      origin: '*',
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'prefer', 'accept', 'if-none-match'],
      exposeHeaders: EXPOSED_HEADERS,
      maxAge: 86400,
    }),
  );
  app.use('*', requestState(state, { resultMemo, inFlight, pendingHits }));

  // 200 for ok and degraded alike (cached results still flow); see forward/gpu-health.ts
  app.get('/healthz', (c) => {
    const { breaker, health } = state(c.env);
    return c.json(health.report(breaker), 200, { 'cache-control': 'no-store' });
  });
  app.get('/v1/models', (c) => {
    const { model: ref, modelInputSize } = c.get('config');
    const [id = ref, version = ''] = ref.split('@');
    // input_size: the network's input side; clients shrink photos to a little above it.
    const models: ModelsList = { data: [{ id, version, ref, default: true, ...(modelInputSize ? { input_size: modelInputSize } : {}) }] };
    return c.json(models);
  });

  const limitBody = bodyLimit({
    maxSize: LIMITS.maxBodyBytes,
    onError: () => {
      throw new ApiError('payload_too_large', `The body is larger than ${LIMITS.maxBodyBytes} bytes.`);
    },
  });
  app.post('/v1/segment', limitBody, auth, (c) => segmentHandler(c, gpuOptions(c.env)));
  app.get('/v1/results/:id', auth, resultHandler);
  app.get('/v1/usage', auth, usageHandler);

  registerOpenApi(app); // also serves it at /openapi.json
  registerMethodNotAllowed(app);
  return app;
}
