/**
 * The SDK's retries, deadline and abort against real HTTP servers (node:http on a loopback port):
 * servers that fail N times (429, 502, 503, 504, a dropped connection) and then answer, counting
 * the attempts and the Idempotency-Key each carried; a server that never answers; polling of a
 * result that lands late.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, CrisError, type ClientOptions } from '../../../sdk/index.js';

const RESULT = { id: 'a'.repeat(64), image_id: 'b'.repeat(64), model: 'm@1', width: 2, height: 2, results: [], cached: false, timing: { total_ms: 1 } };
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Attempt {
  method: string;
  url: string;
  idempotencyKey: string | undefined;
  bodyBytes: number;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))));
});

/** A server whose `answer(attempt number, request, response)` decides each answer; it records every attempt. */
async function serve(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const attempts: Attempt[] = [];
  const server = createServer(async (req, res) => {
    let bodyBytes = 0;
    for await (const chunk of req) bodyBytes += (chunk as Buffer).length;
    attempts.push({ method: req.method!, url: req.url!, idempotencyKey: req.headers['idempotency-key'] as string | undefined, bodyBytes });
    answer(attempts.length, req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { attempts, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
const failing = (status: number, failures: number, headers: Record<string, string> = {}) => (n: number, _req: IncomingMessage, res: ServerResponse) =>
  n <= failures ? json(res, status, { error: { code: `code_${status}`, message: 'not now' } }, headers) : json(res, 200, RESULT);

function client(endpoint: string, options: Partial<ClientOptions> = {}) {
  return createClient({ endpoint, apiKey: 'key-123', retry: { baseDelayMs: 20, maxDelayMs: 100 }, ...options });
}

describe('SDK retries against real servers', () => {
  it.each([429, 502, 503, 504])('a POST that fails %i twice succeeds on the third attempt, all with one Idempotency-Key', async (status) => {
    const { attempts, endpoint } = await serve(failing(status, 2));
    const result = await client(endpoint).segment({ image: PNG, text: 'the red circle', shrink: false });
    expect(result.id).toBe(RESULT.id);
    expect(attempts.map((a) => `${a.method} ${a.url}`)).toEqual(Array(3).fill('POST /v1/segment'));
    expect(attempts[0]!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.bodyBytes)).size).toBe(1); // the same body each time
  });

  it('two calls send two different keys; a caller\'s own key is kept', async () => {
    const { attempts, endpoint } = await serve(failing(503, 1));
    const cris = client(endpoint);
    await cris.segment({ image: PNG, text: 'a', shrink: false }); // fails once: two attempts
    await cris.segment({ image: PNG, text: 'a', shrink: false });
    await cris.segment({ image: PNG, text: 'a', shrink: false, idempotencyKey: 'order-42' });
    expect(attempts).toHaveLength(4);
    expect(attempts[1]!.idempotencyKey).toBe(attempts[0]!.idempotencyKey);
    expect(attempts[2]!.idempotencyKey).not.toBe(attempts[0]!.idempotencyKey);
    expect(attempts[3]!.idempotencyKey).toBe('order-42');
  });

  it('rides out dropped connections (network errors) on a GET and on a keyed POST', async () => {
    const { attempts, endpoint } = await serve((n, req, res) => (n % 3 === 0 ? json(res, 200, RESULT) : req.socket.destroy()));
    expect((await client(endpoint).getResult('x')).id).toBe(RESULT.id);
    expect((await client(endpoint).segment({ image: PNG, text: 'a', shrink: false })).id).toBe(RESULT.id);
    expect(attempts).toHaveLength(6);
    expect(new Set(attempts.slice(3).map((a) => a.idempotencyKey)).size).toBe(1);
  });

  it('honours Retry-After (whole seconds) between attempts', async () => {
    const { attempts, endpoint } = await serve(failing(429, 1, { 'retry-after': '1' }));
    const started = Date.now();
    await client(endpoint).usage();
    expect(attempts).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('does not retry a POST without an Idempotency-Key, nor a 4xx', async () => {
    const { attempts, endpoint } = await serve(failing(503, 5));
    await expect(client(endpoint).segment({ image: PNG, text: 'a', shrink: false, idempotencyKey: false })).rejects.toMatchObject({ status: 503, code: 'code_503' });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.idempotencyKey).toBeUndefined();
    const bad = await serve(failing(422, 5));
    await expect(client(bad.endpoint).segment({ image: PNG, text: 'a', shrink: false })).rejects.toBeInstanceOf(CrisError);
    expect(bad.attempts).toHaveLength(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { attempts, endpoint } = await serve(failing(502, 99));
    const error = await client(endpoint, { retry: { maxAttempts: 3, baseDelayMs: 10 } }).models().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'CrisError', status: 502, code: 'code_502' });
    expect(attempts).toHaveLength(3);
  });
});

describe('SDK deadline and abort', () => {
  const never = () => {}; // the server reads the request and never answers

  it('a call with no answer within `timeout` ends as CrisError timeout', async () => {
    const { endpoint } = await serve(never);
    const started = Date.now();
    const error = await client(endpoint, { timeout: 300 }).usage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrisError);
    expect(error).toMatchObject({ code: 'timeout', status: 0 });
    expect(Date.now() - started).toBeLessThan(5_000);
    const perCall = await client(endpoint).segment({ image: PNG, text: 'a', shrink: false, timeout: 200 }).catch((e: unknown) => e);
    expect(perCall).toMatchObject({ code: 'timeout' });
  });

  it('the deadline covers retries and their waits', async () => {
    const { attempts, endpoint } = await serve(failing(503, 99, { 'retry-after': '2' }));
    const error = await client(endpoint, { timeout: 700 }).getResult('x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'timeout', status: 0 });
    expect(attempts).toHaveLength(1);
  });

  it('an AbortSignal ends a call in flight, or its wait before a retry, as CrisError aborted', async () => {
    const { endpoint } = await serve(never);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user left')), 150);
    const error = (await client(endpoint).segment({ image: PNG, text: 'a', shrink: false, signal: controller.signal }).catch((e: unknown) => e)) as CrisError;
    expect(error).toBeInstanceOf(CrisError);
    expect(error).toMatchObject({ code: 'aborted', status: 0 });
    expect((error.cause as Error).message).toBe('user left');

    const busy = await serve(failing(503, 99, { 'retry-after': '10' }));
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 300);
    const started = Date.now();
    await expect(client(busy.endpoint).models({ signal: waiting.signal })).rejects.toMatchObject({ code: 'aborted' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(busy.attempts).toHaveLength(1);
  });

  it('an already aborted signal sends nothing', async () => {
    const { attempts, endpoint } = await serve(never);
    await expect(client(endpoint).usage({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
    expect(attempts).toHaveLength(0);
  });
});

describe('waitForResult', () => {
  it('polls past 404 until the result lands', async () => {
    const { attempts, endpoint } = await serve((n, _req, res) => (n <= 2 ? json(res, 404, { error: { code: 'not_found', message: 'No such result (yet).' } }) : json(res, 200, RESULT)));
    const result = await client(endpoint).waitForResult(RESULT.id, { intervalMs: 50 });
    expect(result.id).toBe(RESULT.id);
    expect(attempts.map((a) => a.url)).toEqual(Array(3).fill(`/v1/results/${RESULT.id}`));
  });

  it('throws a stored failure as its error, and stops at its own timeout or signal', async () => {
    const failed = await serve((_n, _req, res) => json(res, 422, { error: { code: 'invalid_image', message: 'cannot decode' } }));
    await expect(client(failed.endpoint).waitForResult('x')).rejects.toMatchObject({ code: 'invalid_image', status: 422 });
    const missing = await serve((_n, _req, res) => json(res, 404, { error: { code: 'not_found', message: 'No such result (yet).' } }));
    await expect(client(missing.endpoint).waitForResult('x', { timeout: 400, intervalMs: 50 })).rejects.toMatchObject({ code: 'timeout' });
    expect(missing.attempts.length).toBeGreaterThanOrEqual(2);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(client(missing.endpoint).waitForResult('x', { signal: controller.signal, intervalMs: 50 })).rejects.toMatchObject({ code: 'aborted' });
  });
});
