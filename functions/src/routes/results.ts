/**
 * `GET /v1/results/{id}`: a stored result of the caller's key (edge cache, then S3), with ETag and
 * Cache-Control; 404 until it exists and for an id of another key (ids are bound to their key:
 * contract/result-key.ts). A read: a token of the key's read bucket first, no quota.
 */
import type { Context } from 'hono';
import { ApiError } from '../../../contract/errors.js';
import { isOwnedBy } from '../../../contract/result-key.js';
import type { AppEnv } from '../env.js';
import { etagOf, resultStoreFor } from '../cache/result-store.js';
import { keyMeterStub } from '../meter/meter-stub.js';
import { admitRead } from '../meter/read-token.js';

export const RESULT_ID_PATTERN = /^[0-9a-f]{64}$/;

export async function resultHandler(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const config = c.get('config');
  const { keyId } = c.get('apiKey');
  await admitRead(c, keyMeterStub(c.env, config, keyId));
  if (!RESULT_ID_PATTERN.test(id) || !(await isOwnedBy(id, keyId))) throw new ApiError('not_found', 'No such result.');
  const etag = etagOf(id);
  const cacheControl = `private, max-age=${config.resultMaxAgeSeconds}, immutable`;
  const store = resultStoreFor(c);
  const found = await store.find(id, 'throw');
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
