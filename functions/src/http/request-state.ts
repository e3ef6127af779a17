/**
 * The first middleware of every request: hands the handlers this isolate's state for it (the
 * configuration parsed for these bindings, S3 health, the result memo, results being computed,
 * cache hits not yet booked), declared here as hono context variables.
 */
import { createMiddleware } from 'hono/factory';
import type { SegmentResult } from '../../../contract/segment.js';
import type { ResultMemo } from '../cache/result-memo.js';
import type { S3Health } from '../cache/s3-health.js';
import type { AppEnv, EdgeConfig } from '../env.js';
import type { PendingHits } from '../meter/pending-hits.js';

export interface RequestState {
  config: EdgeConfig;
  /** Whether this isolate skips S3 lookups for now (after one timed out). */
  s3Health: S3Health;
  /** This isolate's memo of recent results (in front of the Cache API). */
  resultMemo: ResultMemo;
  /** Results this isolate is computing now, by result key (identical concurrent misses share one). */
  inFlight: Map<string, Promise<SegmentResult>>;
  /** Cache hits this isolate has answered and not yet booked in their KeyMeter. */
  pendingHits: PendingHits;
}

declare module 'hono' {
  interface ContextVariableMap extends RequestState {}
}

/** `forBindings`: the state that depends on the bindings (config, S3 health), made once per bindings object. */
export function requestState(forBindings: (env: Bindings) => Pick<RequestState, 'config' | 's3Health'>, isolate: Omit<RequestState, 'config' | 's3Health'>) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { config, s3Health } = forBindings(c.env);
    c.set('config', config);
    c.set('s3Health', s3Health);
    c.set('resultMemo', isolate.resultMemo);
    c.set('inFlight', isolate.inFlight);
    c.set('pendingHits', isolate.pendingHits);
    await next();
  });
}
