/**
 * Where finished results are found again, nearest first: this isolate's memo -> the Cache API
 * (keyed by the GET URL of the result) -> the S3 object the GPU service wrote (signed GET with
 * aws4fetch). The GPU service writes S3; the edge fills the Cache API and the memo.
 */
import { AwsClient } from 'aws4fetch';
import { ApiError, isErrorCode } from '../../../contract/errors.js';
import { resultObjectKey, type SegmentResult } from '../../../contract/segment.js';
import type { EdgeConfig } from '../env.js';
import type { ResultMemo } from './result-memo.js';

export type ResultSource = 'isolate' | 'edge-cache' | 's3';

export interface FoundResult {
  result: SegmentResult;
  source: ResultSource;
}

export function resultPath(id: string): string {
  return `/v1/results/${id}`;
}

export class ResultStore {
  private readonly s3: AwsClient;

  constructor(
    private readonly config: EdgeConfig,
    private readonly cache: Cache,
    /** Origin of the public URL the results are cached under. */
    private readonly origin: string,
    private readonly waitUntil: (promise: Promise<unknown>) => void,
    private readonly memo?: ResultMemo,
  ) {
    const { accessKeyId, secretAccessKey, region } = config.s3;
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

  async find(id: string): Promise<FoundResult | null> {
    const memoised = this.memo?.get(id);
    if (memoised) return { result: memoised, source: 'isolate' };
    const hit = await this.cache.match(this.resultUrl(id));
    if (hit) {
      const text = await hit.text();
      const result = JSON.parse(text) as SegmentResult;
      this.memo?.set(result, text.length);
      return { result, source: 'edge-cache' };
    }
    const stored = await this.fromS3(id);
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

  private async fromS3(id: string): Promise<SegmentResult | null> {
    let response: Response;
    try {
      response = await this.s3.fetch(this.objectUrl(id), { method: 'GET' });
    } catch (error) {
      console.warn('s3 lookup failed', (error as Error).message);
      return null;
    }
    if (response.status === 404 || response.status === 403) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) {
      console.warn('s3 lookup answered', response.status);
      await response.body?.cancel();
      return null;
    }
    const result = (await response.json().catch(() => null)) as SegmentResult | null;
    return result && result.id === id ? result : null;
  }
}

/** How long a failed background (async) computation is reported at its result URL. */
const FAILURE_TTL_SECONDS = 300;

export function etagOf(id: string): string {
  return `"${id}"`;
}
