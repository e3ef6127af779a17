/**
 * Bearer authentication: the key is hashed (sha256) before the KV lookup, so KV never holds a
 * key and the lookup time does not depend on how much of a key matches. 401 for a missing or
 * unknown key, 403 for a disabled one, 504 + Retry-After when KV does not answer within its timeout.
 * Every 401 carries the RFC 6750 challenge `WWW-Authenticate: Bearer realm="cris"`, with
 * `error="invalid_token"` when a Bearer key was sent but is not known.
 */
import { createMiddleware } from 'hono/factory';
import { wrapTime } from 'hono/timing';
import { ApiError } from '../../../contract/errors.js';
import type { AppEnv } from '../env.js';
import { withTimeout } from '../http/timeout.js';
import type { KeyLookupCache } from './key-cache.js';
import { hashApiKey, KeyRecordSchema, type KeyRecord } from './key-record.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The caller's key record, set by bearerAuth for the handlers after it. */
    apiKey: KeyRecord;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
export const BEARER_REALM = 'cris';

/** A 401 `unauthorized` whose answer carries the Bearer challenge (RFC 6750 §3). */
export class BearerChallenge extends ApiError {
  constructor(
    message: string,
    private readonly invalidToken: boolean,
  ) {
    super('unauthorized', message);
  }

  override headers(): Record<string, string> {
    const error = this.invalidToken ? `, error="invalid_token", error_description="${this.message.replace(/["\\]/g, '')}"` : '';
    return { ...super.headers(), 'www-authenticate': `Bearer realm="${BEARER_REALM}"${error}` };
  }
}

export async function lookupKey(kv: KVNamespace, header: string | undefined, kvTimeoutMs: number, memo?: KeyLookupCache): Promise<KeyRecord> {
  const match = header ? BEARER.exec(header) : null;
  if (!match) throw new BearerChallenge('Send your API key as "Authorization: Bearer <key>".', false);
  const hash = await hashApiKey(match[1]);
  let record = memo?.get(hash)?.record;
  if (record === undefined) {
    const stored = await withTimeout(kv.get(hash, { type: 'json', cacheTtl: 60 }), kvTimeoutMs, 'The key store');
    if (stored === null) throw new BearerChallenge('Unknown API key.', true); // not remembered: a new key works at once
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
