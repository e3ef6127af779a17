/** `GET /v1/results/{id}`: a stored result (edge cache, then S3), with ETag and Cache-Control; 404 until it exists. */
import type { Context } from 'hono';
import { ApiError } from '../../../contract/errors.js';
import type { AppEnv } from '../env.js';
import { etagOf, ResultStore } from '../cache/result-store.js';

export const RESULT_ID_PATTERN = /^[0-9a-f]{64}$/;

export async function resultHandler(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param('id') ?? '';
  if (!RESULT_ID_PATTERN.test(id)) throw new ApiError('not_found', 'No such result.');
  const config = c.get('config');
  const etag = etagOf(id);
  const cacheControl = `private, max-age=${config.resultMaxAgeSeconds}, immutable`;
  const store = new ResultStore(config, caches.default, new URL(c.req.url).origin, (p) => c.executionCtx.waitUntil(p), c.get('resultMemo'));
  const found = await store.find(id);
  if (!found) throw (await store.findFailure(id)) ?? new ApiError('not_found', 'No such result (yet).');
  const headers = { etag, 'cache-control': cacheControl, 'x-cache': 'HIT' };
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(JSON.stringify({ ...found.result, cached: true }), {
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
  });
}
