// HTTP by the book (issue 17 item 2): Bearer challenges on 401, 405 + Allow, q-values in Accept,
// calendar dates on /v1/usage.
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_METHODS } from '../../functions/src/http/method-not-allowed.js';
import { installFakeUpstream } from './fake-upstream.js';
import { expectError, get, multipartSegment, ORIGIN, seedKey, uniqueImage, worker } from './harness.js';

let apiKey: string;

beforeAll(async () => {
  installFakeUpstream();
  ({ apiKey } = await seedKey());
});

describe('401 carries the Bearer challenge (RFC 6750)', () => {
  it('realm only without a Bearer key; error="invalid_token" for an unknown one', async () => {
    for (const res of [await get('/v1/usage'), await get('/v1/usage', undefined, { authorization: 'Basic abc' })]) {
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cris"');
      await expectError(res, 401, 'unauthorized');
    }
    for (const res of [await get('/v1/usage', 'cris_test_00000000000000000000000000000000'), await multipartSegment('cris_test_nope', uniqueImage(), ['a'])]) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="cris", error="invalid_token"/);
      await expectError(res, 401, 'unauthorized');
    }
    const cors = await get('/v1/usage', undefined, { origin: 'https://app.example' });
    expect(cors.headers.get('access-control-expose-headers')).toContain('www-authenticate');
    const ok = await get('/v1/usage', apiKey);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('www-authenticate')).toBeNull();
  });
});

describe('405 with Allow for a wrong method on a known path', () => {
  it.each([
    ['GET', '/v1/segment', 'POST, OPTIONS'],
    ['PUT', '/v1/segment', 'POST, OPTIONS'],
    ['DELETE', '/v1/results/x', 'GET, HEAD, OPTIONS'],
    ['POST', '/v1/usage', 'GET, HEAD, OPTIONS'],
    ['POST', '/v1/models', 'GET, HEAD, OPTIONS'],
    ['PATCH', '/healthz', 'GET, HEAD, OPTIONS'],
  ])('%s %s -> 405, Allow: %s', async (method, path, allow) => {
    const res = await worker.fetch(`${ORIGIN}${path}`, { method, headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.headers.get('allow')).toBe(allow);
    await expectError(res, 405, 'method_not_allowed');
  });

  it('every documented path has its 405 fallback, with the documented methods', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.fromEntries(
      Object.entries(doc.paths).map(([path, ops]) => [path.replace(/\{(\w+)\}/g, ':$1'), Object.keys(ops).map((m) => m.toUpperCase()).sort()]),
    );
    expect(Object.keys(ROUTE_METHODS).sort()).toEqual(Object.keys(documented).sort());
    for (const [path, methods] of Object.entries(documented)) expect([...ROUTE_METHODS[path]].sort()).toEqual(methods);
  });

  it('the served methods and unknown paths are unchanged', async () => {
    expect((await get('/v1/usage', apiKey)).status).toBe(200);
    expect((await worker.fetch(`${ORIGIN}/v1/models`, { method: 'HEAD' })).status).toBe(200);
    await expectError(await worker.fetch(`${ORIGIN}/v1/nothing`, { method: 'DELETE' }), 404, 'not_found');
  });
});

describe('Accept honours q-values', () => {
  it.each([
    ['image/png', 'image/png'],
    ['image/png;q=0.9, application/json;q=0.5', 'image/png'],
    ['image/png;q=0', 'application/json; charset=utf-8'],
    ['image/png;q=0.5, application/json', 'application/json; charset=utf-8'],
    ['*/*', 'application/json; charset=utf-8'],
  ])('Accept: %s answers %s', async (accept, contentType) => {
    const res = await multipartSegment(apiKey, uniqueImage(), ['the pink one'], {}, { accept });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(contentType);
    if (contentType === 'image/png') expect(new TextDecoder().decode(await res.arrayBuffer())).toBe('PNG-the pink one');
    else expect(((await res.json()) as { results: unknown[] }).results).toHaveLength(1);
  });
});

describe('/v1/usage refuses impossible ranges with 422', () => {
  it.each([
    ['from=2026-02-30&to=2026-03-01', /`from`.*2026-02-30/],
    ['from=2026-01-01&to=2026-13-01', /`to`.*2026-13-01/],
    ['from=2026-1-1', /`from`/],
    ['to=yesterday', /`to`/],
    ['from=2026-03-02&to=2026-03-01', /after/],
  ])('%s', async (query, message) => {
    const res = await get(`/v1/usage?${query}`, apiKey);
    const body = (await res.clone().json()) as { error: { message: string } };
    expect(body.error.message).toMatch(message);
    await expectError(res, 422, 'invalid_options');
  });

  it('a real range (leap day included) is answered', async () => {
    const res = await get('/v1/usage?from=2028-02-29&to=2028-03-01', apiKey);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ from: '2028-02-29', to: '2028-03-01' });
  });
});
