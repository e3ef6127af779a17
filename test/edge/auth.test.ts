import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../functions/src/auth/key-record.js';
import { installFakeUpstream } from './fake-upstream.js';
import { expectError, get, multipartSegment, ORIGIN, seedKey, uniqueImage, worker } from './harness.js';

beforeAll(() => {
  installFakeUpstream();
});

describe('auth', () => {
  it('401 without a key, with a malformed header and with an unknown key', async () => {
    await expectError(await get('/v1/usage'), 401, 'unauthorized');
    await expectError(await get('/v1/usage', undefined, { authorization: 'Basic abc' }), 401, 'unauthorized');
    await expectError(await get('/v1/usage', 'cris_test_00000000000000000000000000000000'), 401, 'unauthorized');
    const res = await multipartSegment('cris_test_nope', uniqueImage(), ['the red circle']);
    await expectError(res, 401, 'unauthorized');
  });

  it('403 for a disabled key', async () => {
    const { apiKey } = await seedKey({}, { disabled: true });
    await expectError(await get('/v1/usage', apiKey), 403, 'key_disabled');
    await expectError(await multipartSegment(apiKey, uniqueImage(), ['a']), 403, 'key_disabled');
  });

  it('KV holds only sha256(key), and a valid key is let in', async () => {
    const { apiKey, record } = await seedKey();
    const kv = (env as unknown as { API_KEYS: KVNamespace }).API_KEYS;
    expect(await kv.get(apiKey)).toBeNull();
    expect(await kv.get(await hashApiKey(apiKey), 'json')).toMatchObject({ keyId: record.keyId });
    const res = await get('/v1/usage', apiKey);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ key_id: record.keyId });
  });

  it('public routes need no key: healthz, models, openapi.json', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const models = (await (await get('/v1/models')).json()) as { data: { ref: string }[] };
    expect(models.data[0].ref).toBe('cris-shapes-s@1.0.0');
    const doc = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/openapi.json', '/v1/models', '/v1/results/{id}', '/v1/segment', '/v1/usage']);
    // The document says which routes need a key: exactly the ones that answer 401 without one.
    const security = Object.fromEntries(Object.entries(doc.paths).map(([path, ops]) => [path, Object.values(ops)[0].security]));
    expect(security).toEqual({
      '/healthz': [],
      '/openapi.json': [],
      '/v1/models': [],
      '/v1/results/{id}': [{ apiKey: [] }],
      '/v1/segment': [{ apiKey: [] }],
      '/v1/usage': [{ apiKey: [] }],
    });
  });

  it('answers CORS preflights and sends secure headers', async () => {
    const preflight = await worker.fetch(`${ORIGIN}/v1/segment`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const res = await get('/healthz', undefined, { origin: 'https://app.example' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('x-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toBeTruthy();
  });
});
