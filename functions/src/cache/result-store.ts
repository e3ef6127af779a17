/**
 * Where finished results are found again, nearest first: this isolate's memo -> the Cache API
 * (keyed by the GET URL of the result) -> the S3 object the GPU service wrote (signed GET with
 * aws4fetch, under the S3 timeout). The GPU service writes S3; the edge fills the Cache API and
 * the memo. Result ids are bound to their tenant (contract/result-key.ts), so these paths are
 * per account too.
 */
import { AwsClient } from 'aws4fetch';
import type { Context } from 'hono';
import { ApiError, isErrorCode } from '../../../contract/errors.js';
import { resultObjectKey, type SegmentResult } from '../../../contract/segment.js';
import type { AppEnv, EdgeConfig } from '../env.js';
import { RETRY_AFTER_TIMEOUT_S } from '../http/timeout.js';
import type { ResultMemo } from './result-memo.js';
import type { S3Health } from './s3-health.js';

export type ResultSource = 'isolate' | 'edge-cache' | 's3';

export interface FoundResult {
  result: SegmentResult;
  source: ResultSource;
}

/** What to do when S3 cannot be asked (timed out, unreachable, or skipped after that). */
export type WhenS3Fails = 'miss' | 'throw';

export interface ResultStoreParts {
  config: EdgeConfig;
  cache: Cache;
  /** Origin of the public URL the results are cached under. */
  origin: string;
  waitUntil: (promise: Promise<unknown>) => void;
  memo?: ResultMemo;
  s3Health?: S3Health;
}

/** The store for one request. */
export function resultStoreFor(c: Context<AppEnv>): ResultStore {
  return new ResultStore({
    config: c.get('config'),
    cache: caches.default,
    origin: new URL(c.req.url).origin,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    memo: c.get('resultMemo'),
    s3Health: c.get('s3Health'),
  });
}

export function resultPath(id: string): string {
  return `/v1/results/${id}`;
}

export class ResultStore {
  private readonly s3: AwsClient;
  private readonly config: EdgeConfig;
  private readonly cache: Cache;
  private readonly origin: string;
  private readonly waitUntil: (promise: Promise<unknown>) => void;
  private readonly memo?: ResultMemo;
  private readonly s3Health?: S3Health;

  constructor(parts: ResultStoreParts) {
    ({ config: this.config, cache: this.cache, origin: this.origin, waitUntil: this.waitUntil, memo: this.memo, s3Health: this.s3Health } = parts);
    const { accessKeyId, secretAccessKey, region } = this.config.s3;
    this.s3 = new AwsClient({ accessKeyId, secretAccessKey, region, service: 's3', retries: 0 });
  }

  resultUrl(id: string): string {
    return `${this.origin}${resultPath(id)}`;
  }

  /** Path-style URL of the object (works with S3, R2, MinIO, s3rver). */
  objectUrl(id: string): string {
    const key = resultObjectKey(this.config.model, id).split('/').map(encodeURIComponent).join('/');
    return `${this.config.s3.endpoint}/${encodeURIComponent(this.config.s3.bucket)}/${key}`;
  }

  /** `whenS3Fails`: 'miss' (a lookup for a segmentation: compute anyway) or 'throw' (503/504 with Retry-After). */
  async find(id: string, whenS3Fails: WhenS3Fails): Promise<FoundResult | null> {
    const memoised = this.memo?.get(id);
    if (memoised) return { result: memoised, source: 'isolate' };
    const hit = await this.cache.match(this.resultUrl(id));
    if (hit) {
      const text = await hit.text();
      const result = JSON.parse(text) as SegmentResult;
      this.memo?.set(result, text.length);
      return { result, source: 'edge-cache' };
    }
    const stored = await this.fromS3(id, whenS3Fails);
    if (!stored) return null;
    this.remember(stored);
    return { result: stored, source: 's3' };
  }

  /** Puts a result into the edge cache in the background. */
  remember(result: SegmentResult): void {
    const text = JSON.stringify({ ...result, cached: false });
    this.memo?.set(result, text.length);
    const response = new Response(text, {
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': `public, max-age=${this.config.resultMaxAgeSeconds}, immutable`,
        etag: etagOf(result.id),
      },
    });
    this.waitUntil(this.cache.put(this.resultUrl(result.id), response).catch((error) => console.warn('cache put failed', error)));
  }

  /** Records that the background computation of `id` failed, so pollers hear it (for a while). */
  rememberFailure(id: string, error: ApiError): void {
    const response = new Response(JSON.stringify(error.toBody()), {
      headers: { 'content-type': 'application/json', 'cache-control': `max-age=${FAILURE_TTL_SECONDS}` },
    });
    this.waitUntil(this.cache.put(`${this.resultUrl(id)}/failure`, response).catch((e) => console.warn('cache put failed', e)));
  }

  async findFailure(id: string): Promise<ApiError | null> {
    const hit = await this.cache.match(`${this.resultUrl(id)}/failure`);
    if (!hit) return null;
    const body = (await hit.json()) as { error?: { code?: string; message?: string } };
    const code = body.error?.code ?? '';
    return isErrorCode(code) ? new ApiError(code, `The background computation failed: ${body.error?.message ?? code}`) : null;
  }

  private async fromS3(id: string, whenS3Fails: WhenS3Fails): Promise<SegmentResult | null> {
    const skipMs = this.s3Health?.skippingForMs() ?? 0;
    if (skipMs > 0) {
      if (whenS3Fails === 'miss') return null;
      throw new ApiError('unavailable', 'The result store is not answering; try again later.', skipMs / 1000);
    }
    const timeoutMs = this.config.timeouts.s3Ms;
    const signal = AbortSignal.timeout(timeoutMs);
    let text: string;
    try {
      const response = await this.s3.fetch(this.objectUrl(id), { method: 'GET', signal });
      if (response.status === 404 || response.status === 403) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`answered ${response.status}`);
      }
      text = await response.text();
    } catch (error) {
      const timedOut = signal.aborted;
      console.warn('s3 lookup failed', timedOut ? `no answer within ${timeoutMs} ms` : (error as Error).message);
      this.s3Health?.failed();
      if (whenS3Fails === 'miss') return null;
      throw timedOut
        ? new ApiError('timeout', `The result store did not answer within ${timeoutMs} ms; try again.`, RETRY_AFTER_TIMEOUT_S)
        : new ApiError('unavailable', 'The result store failed to answer; try again later.', RETRY_AFTER_TIMEOUT_S);
    }
    let result: SegmentResult | null = null;
    try {
      result = JSON.parse(text) as SegmentResult | null;
    } catch {
      console.warn('s3 object is not JSON', id, `${text.length} bytes`);
    }
    return result && result.id === id ? result : null;
  }
}

/** How long a failed background (async) computation is reported at its result URL. */
const FAILURE_TTL_SECONDS = 300;

export function etagOf(id: string): string {
  return `"${id}"`;
}
