/**
 * Bearer authentication: the key is hashed (sha256) before the KV lookup, so KV never holds a
 * key and the lookup time does not depend on how much of a key matches. 401 for a missing or
 * unknown key, 403 for a disabled one, 504 + Retry-After when KV does not answer within its timeout.
 */
import { createMiddleware } from 'hono/factory';
import { wrapTime } from 'hono/timing';
import { ApiError } from '../../../contract/errors.js';
import type { AppEnv } from '../env.js';
import { withTimeout } from '../http/timeout.js';
import type { KeyLookupCache } from './key-cache.js';
import { hashApiKey, KeyRecordSchema, type KeyRecord } from './key-record.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export async function lookupKey(kv: KVNamespace, header: string | undefined, kvTimeoutMs: number, memo?: KeyLookupCache): Promise<KeyRecord> {
  const match = header ? BEARER.exec(header) : null;
  if (!match) throw new ApiError('unauthorized', 'Send your API key as "Authorization: Bearer <key>".');
  const hash = await hashApiKey(match[1]);
  let record = memo?.get(hash)?.record;
  if (record === undefined) {
    const stored = await withTimeout(kv.get(hash, { type: 'json', cacheTtl: 60 }), kvTimeoutMs, 'The key store');
    if (stored === null) throw new ApiError('unauthorized', 'Unknown API key.'); // not remembered: a new key works at once
    const parsed = KeyRecordSchema.safeParse(stored);
    if (!parsed.success) throw new ApiError('internal', 'The stored key record is malformed.');
    record = parsed.data;
    memo?.set(hash, record); // checked once, not on every request
  }
  if (record.disabled) throw new ApiError('key_disabled', 'This API key has been revoked.');
  return record;
}

/** Sets `apiKey` for the handlers after it. */
export function bearerAuth(memo?: KeyLookupCache) {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.set('apiKey', await wrapTime(c, 'auth', lookupKey(c.env.API_KEYS, c.req.header('authorization'), c.get('config').timeouts.kvMs, memo)));
    await next();
  });
}
