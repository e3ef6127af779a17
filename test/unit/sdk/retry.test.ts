import { describe, expect, it } from 'vitest';
import { createClient, CrisError, parseRetryAfter } from '../../../sdk/index.js';
import { retryDelayMs, retryPolicy } from '../../../sdk/retry.js';

const RESULT = { id: 'a'.repeat(64), model: 'm@1', width: 2, height: 2, results: [], cached: false, timing: { total_ms: 1 } };

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A fetch that answers from a script and records every call. */
function scriptedFetch(answers: Array<() => Response>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetchImpl = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = answers.shift();
    if (!next) throw new Error('fetch called more often than scripted');
    return next();
  };
  return { calls, fetch: fetchImpl as typeof fetch };
}

function clientWith(answers: Array<() => Response>, retry = {}) {
  const scripted = scriptedFetch(answers);
  const waits: number[] = [];
  const client = createClient({
    endpoint: 'http://api.test/',
    apiKey: 'key-123',
    fetch: scripted.fetch,
    retry,
    sleep: async (ms) => void waits.push(ms),
  });
  return { client, waits, calls: scripted.calls };
}

const image = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('SDK retries', () => {
  it('retries 503 then succeeds, honouring Retry-After seconds', async () => {
    const { client, waits, calls } = clientWith([
      () => jsonResponse(503, { error: { code: 'unavailable', message: 'warming up' } }, { 'retry-after': '2' }),
      () => jsonResponse(200, RESULT),
    ]);
    const result = await client.segment({ image, text: 'the red circle', format: 'rle' });
    expect(result.id).toBe(RESULT.id);
    expect(waits).toEqual([2000]);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.url).toBe('http://api.test/v1/segment');
    expect(new Headers(calls[0]!.init.headers).get('authorization')).toBe('Bearer key-123');
    const form = calls[1]!.init.body as FormData;
    expect(form.getAll('text')).toEqual(['the red circle']);
    expect(form.get('format')).toBe('rle');
    expect((form.get('image') as File).type).toBe('image/png');
    expect(calls[0]!.init.body).not.toBe(calls[1]!.init.body); // a fresh body per attempt
  });

  it('backs off exponentially on 429 without Retry-After and gives up after maxAttempts', async () => {
    const busy = () => jsonResponse(429, { error: { code: 'overloaded', message: 'busy' } });
    const { client, waits, calls } = clientWith([busy, busy, busy], { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 });
    const error = await client.segment({ image, text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrisError);
    expect((error as CrisError).code).toBe('overloaded');
    expect((error as CrisError).status).toBe(429);
    expect(calls).toHaveLength(3);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(waits[1]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);
  });

  it('does not wait out a Retry-After beyond the bound (spent quota)', async () => {
    const { client, waits, calls } = clientWith([
      () => jsonResponse(429, { error: { code: 'quota_exceeded', message: 'monthly quota spent' } }, { 'retry-after': '86400' }),
    ]);
    const error = (await client.usage().catch((e: unknown) => e)) as CrisError;
    expect(error.code).toBe('quota_exceeded');
    expect(error.retryAfterSeconds).toBe(86400);
    expect(waits).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('retries 502 and 504 of a GET, and of a POST with its one Idempotency-Key', async () => {
    for (const status of [502, 504]) {
      const failing = () => jsonResponse(status, { error: { code: 'some_code', message: 'upstream' } });
      const { client, calls } = clientWith([failing, failing, () => jsonResponse(200, RESULT)]);
      expect((await client.getResult('abc')).id).toBe(RESULT.id);
      expect(calls).toHaveLength(3);
      const post = clientWith([failing, failing, () => jsonResponse(200, RESULT)]);
      await post.client.segment({ image, text: 'x' });
      const keys = post.calls.map((call) => new Headers(call.init.headers).get('idempotency-key'));
      expect(keys).toHaveLength(3);
      expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(new Set(keys).size).toBe(1);
    }
  });

  it('never retries a POST without an Idempotency-Key', async () => {
    const { client, calls } = clientWith([() => jsonResponse(503, { error: { code: 'unavailable', message: 'no' } })]);
    const error = (await client.segment({ image, text: 'x', idempotencyKey: false }).catch((e: unknown) => e)) as CrisError;
    expect(error.status).toBe(503);
    expect(calls).toHaveLength(1);
    expect(new Headers(calls[0]!.init.headers).has('idempotency-key')).toBe(false);
  });

  it('never retries other errors', async () => {
    for (const status of [400, 401, 409, 413, 422, 500]) {
      const { client, calls } = clientWith([() => jsonResponse(status, { error: { code: 'some_code', message: 'no' } })]);
      const error = (await client.getResult('abc').catch((e: unknown) => e)) as CrisError;
      expect(error.status).toBe(status);
      expect(error.code).toBe('some_code');
      expect(calls).toHaveLength(1);
    }
  });

  it('keeps the status when the error body is not JSON', async () => {
    const { client } = clientWith([() => new Response('gateway exploded', { status: 502, statusText: 'Bad Gateway' })], { maxAttempts: 1 });
    const error = (await client.models().catch((e: unknown) => e)) as CrisError;
    expect(error.status).toBe(502);
    expect(error.code).toBe('http_502');
  });

  it('reports network failures as CrisError network_error, after retrying them', async () => {
    let attempts = 0;
    const client = createClient({
      endpoint: 'http://api.test',
      apiKey: 'k',
      fetch: (async () => {
        attempts++;
        throw new TypeError('connection refused');
      }) as typeof fetch,
      sleep: async () => {},
    });
    await expect(client.usage()).rejects.toMatchObject({ code: 'network_error', status: 0 });
    expect(attempts).toBe(4);
  });

  it('sends several phrases and the threshold, and GETs results by id', async () => {
    const { client, calls } = clientWith([() => jsonResponse(200, RESULT), () => jsonResponse(200, RESULT)]);
    await client.segment({ image: new Blob([image], { type: 'image/png' }), text: ['a', 'b'], threshold: 0.4, presence_threshold: 0.7 });
    const form = calls[0]!.init.body as FormData;
    expect(form.getAll('text')).toEqual(['a', 'b']);
    expect(form.get('threshold')).toBe('0.4');
    expect(form.get('presence_threshold')).toBe('0.7');
    expect(form.get('format')).toBeNull();
    await client.getResult('id/with slash');
    expect(calls[1]!.url).toBe('http://api.test/v1/results/id%2Fwith%20slash');
    expect(calls[1]!.init.method).toBe('GET');
  });
});

describe('retry policy', () => {
  const policy = retryPolicy({ maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 1000, maxRetryAfterMs: 5000 });
  it('caps the backoff at maxDelayMs', () => {
    expect(retryDelayMs(policy, 4, 503, undefined, () => 0.999)).toBeLessThanOrEqual(1000);
    expect(retryDelayMs(policy, 4, 503, undefined, () => 0)).toBe(500);
  });
  it('stops at maxAttempts and for non-retryable statuses', () => {
    expect(retryDelayMs(policy, 5, 503, undefined)).toBeNull();
    expect(retryDelayMs(policy, 1, 500, undefined)).toBeNull();
    expect(retryDelayMs(policy, 1, 429, 6)).toBeNull();
    expect(retryDelayMs(policy, 1, 429, 5)).toBe(5000);
  });
  it('rejects nonsense', () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow(RangeError);
  });
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10);
  });
});
