/**
 * The service's Node listener (server/node-listener.ts, what main.ts serves) answers POST
 * /v1/segment itself, without Hono; every answer must be the one the Hono route gives through
 * @hono/node-server, byte for byte: status line, header lines in their order and case, body.
 * Two harnesses, one per carrier, get the same requests (signed anew for each); what may differ
 * between any two runs is masked: the Date header and the timing numbers (`*_ms`) with the
 * Content-Length they change (checked against the body instead). Every error class the route
 * answers, the success answers (JSON, the mask PNG, a coalesced follower), keep-alive after an
 * early answer, the routes and requests the listener leaves to Hono, and the metrics booked.
 */
import { createAdaptorServer } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CostBudget } from '../../../gpu-service/src/admission/cost-budget.js';
import { Coalescer } from '../../../gpu-service/src/server/coalescer.js';
import { pipelined, raw, requestBytes, type RawAnswer, type RawOptions } from '../../helpers/raw-http.js';
import { IMAGE, SECRET, drainHarnesses, hold, harness, type Harness, type HarnessOptions } from '../../helpers/service-app.js';
import { segmentInit, signedHeaders, type SegmentForm, type SignOverrides } from '../../helpers/service-requests.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await drainHarnesses();
});

type Carrier = 'adapter' | 'listener';

interface Side {
  h: Harness;
  port: number;
}

async function side(carrier: Carrier, options: HarnessOptions): Promise<Side> {
  const h = harness(options);
  const server = carrier === 'adapter' ? (createAdaptorServer({ fetch: h.app.fetch }) as Server) : createServer(h.nodeListener());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { h, port: (server.address() as AddressInfo).port };
}

/** The two carriers over harnesses made alike. */
async function pair(options: HarnessOptions = {}): Promise<Record<Carrier, Side>> {
  return { adapter: await side('adapter', options), listener: await side('listener', options) };
}

interface Request {
  head: [string, string][];
  body: Uint8Array;
  options?: RawOptions;
}

async function signed(fields: SegmentForm, extra: Record<string, string> = {}, sign: SignOverrides = {}): Promise<Request> {
  const init = await segmentInit(fields, SECRET, extra, '/v1/segment', sign);
  return { head: Object.entries(init.headers as Record<string, string>), body: init.body };
}

/** The answer's bytes with what differs between two runs masked; its Content-Length checked against the body. */
function masked(answer: RawAnswer | undefined): { head: string; body: string } {
  expect(answer).toBeDefined();
  const { head, bytes } = answer!;
  const length = /^content-length: (\d+)$/im.exec(head);
  if (length) expect(Number(length[1])).toBe(bytes.length);
  const body = bytes.toString('latin1').replace(/("[a-z_]+_ms":)[0-9.e-]+/g, '$10');
  return { head: head.replace(/^(date: ).*$/im, '$1(masked)').replace(/^(content-length: )\d+$/im, '$1(checked)'), body };
}

/** One request (made anew per carrier) to both; the two answers, masked, must be equal; returns the listener's. */
async function same(sides: Record<Carrier, Side>, make: () => Promise<Request> | Request): Promise<RawAnswer> {
  const answers: Partial<Record<Carrier, RawAnswer>> = {};
  for (const carrier of ['adapter', 'listener'] as const) {
    const request = await make();
    answers[carrier] = await raw(sides[carrier].port, request.head, [request.body], request.options);
  }
  expect(masked(answers.listener)).toEqual(masked(answers.adapter));
  return answers.listener!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string) => new TextEncoder().encode(value);

describe('the Node listener answers POST /v1/segment byte for byte as the Hono route does', () => {
  it('200: the JSON result (one header: Content-Type as Hono names it) and the mask PNG (several: lower-cased, sorted)', async () => {
    const sides = await pair();
    const json = await same(sides, () => signed({ image: IMAGE, texts: ['the red circle', 'le cercle «rouge»'], options: { format: 'rle' } }));
    expect(json.status).toBe(200);
    expect(json.head).toMatch(/\r\nContent-Type: application\/json\r\nContent-Length: \d+\r\n/);
    const png = await same(sides, () => signed({ image: IMAGE, texts: ['a star'] }, { accept: 'image/png' }));
    expect(png.head).toMatch(/\r\ncontent-type: image\/png\r\nx-cris-model: .*\r\nx-cris-result-id: [0-9a-f]{64}\r\nx-cris-score: .*\r\nContent-Length: /);
    expect(png.bytes.length).toBeGreaterThan(0);
  });

  it('200 for a coalesced follower (x-cris-coalesced)', async () => {
    const sides = await pair();
    const followers: RawAnswer[] = [];
    for (const carrier of ['adapter', 'listener'] as const) {
      const { h, port } = sides[carrier];
      const release = hold(h);
      const leader = await signed({ image: IMAGE, texts: ['a star'] });
      const follower = await signed({ image: IMAGE, texts: ['a star'] });
      const first = raw(port, leader.head, [leader.body]);
      await sleep(30);
      const second = raw(port, follower.head, [follower.body]);
      await sleep(30);
      release();
      expect((await first)!.status).toBe(200);
      followers.push((await second)!);
    }
    expect(followers[1].headers['x-cris-coalesced']).toBe('1');
    expect(masked(followers[1])).toEqual(masked(followers[0]));
  });

  it('4xx: bad_request, missing_image, invalid_signature, replayed_request, payload_too_large, unsupported_media_type, invalid_options, invalid_text, invalid_image', async () => {
    const sides = await pair({ maxBodyBytes: 4000 });
    const garbage = text('--x\r\nnot really multipart');
    const cases: [number, string, () => Promise<Request>][] = [
      [400, 'bad_request', async () => ({ head: [['content-type', 'multipart/form-data; boundary=y'], ...Object.entries(await sign(garbage))], body: garbage })],
      [400, 'missing_image', () => signed({ texts: ['a star'] })],
      [401, 'invalid_signature', async () => ({ ...(await signed({ image: IMAGE, texts: ['a star'] })), head: [['content-type', 'multipart/form-data; boundary=z']] })],
      [401, 'invalid_signature', async () => tampered(await signed({ image: IMAGE, texts: ['a star'] }))],
      [413, 'payload_too_large', () => signed({ image: new Uint8Array(5000).fill(1), texts: ['a'] })],
      [415, 'unsupported_media_type', async () => ({ head: [['content-type', 'application/json'], ...Object.entries(await sign(text('{}')))], body: text('{}') })],
      [422, 'invalid_options', () => signed({ image: IMAGE, texts: ['a star'], options: { format: 'svg' } })],
      [422, 'invalid_text', () => signed({ image: IMAGE, texts: [] })],
      [422, 'invalid_image', () => signed({ image: new Uint8Array([0xff, 1]), texts: ['a star'] })],
    ];
    for (const [status, code, make] of cases) {
      const answer = await same(sides, make);
      expect({ status: answer.status, code: (JSON.parse(answer.body) as { error: { code: string } }).error.code }).toEqual({ status, code });
    }
    // the same signed request twice: the second is a replay, on either carrier
    const replays: RawAnswer[] = [];
    for (const carrier of ['adapter', 'listener'] as const) {
      const request = await signed({ image: IMAGE, texts: ['once'] });
      expect((await raw(sides[carrier].port, request.head, [request.body]))!.status).toBe(200);
      replays.push((await raw(sides[carrier].port, request.head, [request.body]))!);
    }
    expect(replays[1].body).toMatch(/replayed_request/);
    expect(masked(replays[1])).toEqual(masked(replays[0]));
  });

  it('429 overloaded with Retry-After, 500 internal, 504 timeout', async () => {
    const sides = await pair({ admission: { budget: new CostBudget({ perTenant: 50, global: 100 }), coalescer: new Coalescer() } });
    const refused: RawAnswer[] = [];
    for (const carrier of ['adapter', 'listener'] as const) {
      const { h, port } = sides[carrier];
      const release = hold(h);
      const heavy = await signed({ image: new Uint8Array([1]), texts: ['one'] });
      const running = raw(port, heavy.head, [heavy.body]);
      await sleep(30);
      const over = await signed({ image: new Uint8Array([2]), texts: ['two'] });
      refused.push((await raw(port, over.head, [over.body]))!);
      release();
      expect((await running)!.status).toBe(200);
    }
    expect(refused[1].head).toMatch(/\r\ncontent-type: application\/json\r\nretry-after: 1\r\nContent-Length: /);
    expect(masked(refused[1])).toEqual(masked(refused[0]));
    expect((await same(sides, () => signed({ image: IMAGE, texts: ['explode'] }))).body).toBe('{"error":{"code":"internal","message":"internal error"}}');
    const late = await same(sides, () => signed({ image: IMAGE, texts: ['a star'] }, {}, { deadlineMs: Date.now() - 1 }));
    expect(late.status).toBe(504);
  });

  it('503 while starting and while draining, before reading the body', async () => {
    const starting = await pair({ ready: false });
    expect((await same(starting, () => signed({ image: IMAGE, texts: ['a star'] }))).status).toBe(503);
    const draining = await pair();
    for (const carrier of ['adapter', 'listener'] as const) draining[carrier].h.state.markDraining();
    expect((await same(draining, () => signed({ image: IMAGE, texts: ['a star'] }))).body).toMatch(/shutting down/);
  });

  it('keeps a connection usable after answering 413 before the body was read (declared, or found while reading), as the adapter does', async () => {
    const sides = await pair({ maxBodyBytes: 4000 });
    const statuses: Record<Carrier, number[]> = { adapter: [], listener: [] };
    for (const carrier of ['adapter', 'listener'] as const) {
      const { port } = sides[carrier];
      const big = () => signed({ image: new Uint8Array(1 << 20).fill(1), texts: ['a'] }); // far past the socket's buffers
      const small = () => signed({ image: IMAGE, texts: ['a star'] });
      const requests = [
        [await big(), {}],
        [await small(), {}],
        [await big(), { chunked: true }],
        [await small(), {}],
      ] as const;
      const answers = await pipelined(port, requests.map(([request, options]) => requestBytes(port, request.head, request.body, options)));
      statuses[carrier] = answers.map((answer) => answer.status);
    }
    expect(statuses.listener).toEqual(statuses.adapter);
    expect(statuses.listener).toEqual([413, 200, 413, 200]);
  });

  it('leaves other routes, a path with a query and a request without a usable Host to Hono, answered as before', async () => {
    const sides = await pair();
    const request = () => signed({ image: IMAGE, texts: ['a star'] });
    expect((await same(sides, async () => ({ ...(await request()), options: { path: '/v1/segment?x=1' } }))).status).toBe(200);
    expect((await same(sides, async () => ({ ...(await request()), options: { noHost: true } }))).status).toBe(400);
    expect((await same(sides, async () => ({ ...(await request()), options: { host: 'bad host' } }))).status).toBe(400);
    expect((await same(sides, async () => ({ ...(await request()), options: { path: '/v1/nothing' } }))).status).toBe(404);
  });

  it('books the same request and error metrics', async () => {
    const sides = await pair();
    await same(sides, () => signed({ image: IMAGE, texts: ['a star'] }));
    await same(sides, () => signed({ image: IMAGE, texts: ['a star'], options: { format: 'svg' } }));
    await same(sides, () => signed({ image: IMAGE, texts: ['explode'] }));
    const booked = async ({ h }: Side) =>
      (await (await h.app.request('/metrics')).text()).split('\n').filter((line) => /^cris_(requests_total|errors_total|request_seconds_count)\{/.test(line));
    const adapter = await booked(sides.adapter);
    expect(adapter.length).toBeGreaterThanOrEqual(5);
    expect(await booked(sides.listener)).toEqual(adapter);
  });
});

const sign = (body: Uint8Array) => signedHeaders(SECRET, body);

function tampered(request: Request): Request {
  const body = new Uint8Array(request.body);
  body[body.length - 10] ^= 1;
  return { ...request, body };
}
