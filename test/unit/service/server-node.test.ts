/**
 * POST /v1/segment on the Node server, carried by @hono/node-server over app.fetch and by the
 * service's own listener (server/node-listener.ts, as main.ts serves it): the body is read from
 * the Node request itself (server/request-io.ts), not through a fetch Request. Raw
 * HTTP/1.1 over a socket, so the tests choose how the body arrives (split anywhere, even inside
 * a boundary or a CRLF; chunked without a Content-Length; cut short), and every answer is
 * compared with the one app.request gives for the same body (the fetch Request path).
 */
import { createAdaptorServer } from '@hono/node-server';
import FormDataStream from 'form-data';
import { createServer, type Server } from 'node:http';
import { createConnection, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { raw, splitAt } from '../../helpers/raw-http.js';
import { segmentInit, signedHeaders } from '../../helpers/service-requests.js';
import { IMAGE, SECRET, drainHarnesses, harness, post, type Harness } from '../../helpers/service-app.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await drainHarnesses();
});

/** How the Node server carries the app: @hono/node-server over app.fetch, or the service's own listener (main.ts). */
type Carrier = 'adapter' | 'listener';

async function listen(h: Harness, carrier: Carrier): Promise<number> {
  const server = carrier === 'adapter' ? (createAdaptorServer({ fetch: h.app.fetch }) as Server) : createServer(h.nodeListener());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A signed request's header lines and body (a fresh request id each call). */
async function signed(fields: Parameters<typeof segmentInit>[0], extra: Record<string, string> = {}) {
  const init = await segmentInit(fields, SECRET, extra);
  return { head: Object.entries(init.headers as Record<string, string>), body: init.body, init };
}

/** The answer without what differs between two runs of one request (timings). */
function comparable(answer: { status: number; body: string; headers: Record<string, string> }) {
  const json = answer.headers['content-type']?.startsWith('application/json') ? (JSON.parse(answer.body) as Record<string, unknown>) : answer.body;
  if (typeof json === 'object' && json && 'timing' in json) delete json.timing;
  return { status: answer.status, type: answer.headers['content-type'], body: json };
}

async function viaRequest(h: Harness, init: RequestInit) {
  const response = await post(h, init);
  return comparable({ status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() });
}

describe.each(['adapter', 'listener'] as const)('POST /v1/segment read from the Node request (%s)', (carrier) => {
  it('answers as app.request does, however the body is split (inside a boundary, between CR and LF, seven bytes at a time)', async () => {
    const h = harness();
    const port = await listen(h, carrier);
    const fields = { image: IMAGE, texts: ['the red circle', 'blue one'], options: { format: 'rle' } };
    const { init } = await signed(fields);
    const expected = await viaRequest(h, init);
    expect(expected.status).toBe(200);
    const text = Buffer.from(init.body).toString('latin1');
    const boundaryAt = text.indexOf('\r\n--', 10); // the delimiter after the first part
    const crlfAt = text.indexOf('\r\n\r\n');
    const layouts: [string, (body: Uint8Array) => Uint8Array[]][] = [
      ['whole', (body) => [body]],
      ['inside the second delimiter', (body) => splitAt(body, [boundaryAt + 1, boundaryAt + 5])],
      ['between CR and LF of a header end', (body) => splitAt(body, [crlfAt + 1, crlfAt + 3])],
      ['every 7 bytes', (body) => splitAt(body, Array.from({ length: Math.ceil(body.length / 7) }, (_, i) => i * 7))],
    ];
    for (const [name, layout] of layouts) {
      const request = await signed(fields);
      for (const chunked of [false, true]) {
        const again = chunked ? await signed(fields) : request;
        const answer = await raw(port, again.head, layout(again.body), { chunked });
        expect(comparable(answer!), `${name}${chunked ? ', chunked' : ''}`).toEqual(expected);
      }
    }
  });

  it('answers a body the form-data package built as the one undici FormData built', async () => {
    const h = harness();
    const port = await listen(h, carrier);
    const texts = ['the red circle', 'le cercle «rouge»'];
    const expected = await viaRequest(h, (await signed({ image: IMAGE, texts, options: { format: 'rle' } })).init);
    expect(expected.status).toBe(200);
    const form = new FormDataStream();
    form.append('image', Buffer.from(IMAGE), { filename: 'image', contentType: 'image/png' });
    for (const text of texts) form.append('text', text);
    form.append('options', JSON.stringify({ format: 'rle' }));
    const body = new Uint8Array(form.getBuffer());
    const head: [string, string][] = [['content-type', form.getHeaders()['content-type'] as string], ...Object.entries(await signedHeaders(SECRET, body))];
    expect(comparable((await raw(port, head, splitAt(body, [40, 200])))!)).toEqual(expected);
  });

  it('joins repeated headers as fetch Headers does (Accept: text/plain, image/png wants the PNG)', async () => {
    const h = harness();
    const port = await listen(h, carrier);
    const fields = { image: IMAGE, texts: ['a star'] };
    const { init } = await signed(fields, { accept: 'text/plain, image/png' });
    const expected = await viaRequest(h, init);
    expect(expected.type).toBe('image/png');
    const { head, body } = await signed(fields);
    const answer = await raw(port, [...head, ['accept', 'text/plain'], ['Accept', 'image/png']], [body]);
    expect(comparable(answer!)).toEqual(expected);
  });

  it('refuses a body over the limit with 413, declared or found while reading (chunked), and keeps serving', async () => {
    const h = harness({ maxBodyBytes: 1000 });
    const port = await listen(h, carrier);
    const big = { image: new Uint8Array(2000).fill(1), texts: ['a'] };
    const declared = await signed(big);
    const expected = await viaRequest(h, declared.init);
    expect(expected).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(comparable((await raw(port, declared.head, [declared.body]))!)).toEqual(expected);
    const streamed = await signed(big);
    expect(comparable((await raw(port, streamed.head, splitAt(streamed.body, [300, 700, 1100, 1500]), { chunked: true }))!)).toEqual(expected);
    const small = await signed({ image: IMAGE, texts: ['a'] });
    expect((await raw(port, small.head, [small.body]))!.status).toBe(200);
    expect(h.runner.encodeCalls).toEqual([1]);
  });

  it('answers malformed bodies with the codes app.request answers', async () => {
    const h = harness();
    const port = await listen(h, carrier);
    const garbage = new TextEncoder().encode('--x\r\nnot really multipart');
    const noEnd = new TextEncoder().encode('--b\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\n\x01\x02');
    const cases: [string, Uint8Array<ArrayBuffer>, string, number, string][] = [
      ['no boundary in the body', garbage, 'multipart/form-data; boundary=y', 400, 'bad_request'],
      ['a part never closed', noEnd, 'multipart/form-data; boundary=b', 400, 'bad_request'],
      ['no boundary parameter', garbage, 'multipart/form-data; charset=utf-8', 400, 'bad_request'],
      ['JSON', new TextEncoder().encode('{"text":"a"}'), 'application/json', 415, 'unsupported_media_type'],
      ['no content type', garbage, '', 415, 'unsupported_media_type'],
    ];
    for (const [name, body, contentType, status, code] of cases) {
      const headers = async () => ({ ...(contentType ? { 'content-type': contentType } : {}), ...(await signedHeaders(SECRET, body)) });
      const expected = await viaRequest(h, { method: 'POST', body, headers: await headers() });
      expect(expected, name).toMatchObject({ status, body: { error: { code } } });
      const answer = await raw(port, Object.entries(await headers()), splitAt(body, [5, 11]));
      expect(comparable(answer!), name).toEqual(expected);
    }
    const fieldCases: [string, Parameters<typeof segmentInit>[0], number, string][] = [
      ['missing image', { texts: ['a star'] }, 400, 'missing_image'],
      ['bad options', { image: IMAGE, texts: ['a star'], options: { format: 'svg' } }, 422, 'invalid_options'],
      ['no text', { image: IMAGE, texts: [] }, 422, 'invalid_text'],
    ];
    for (const [name, fields, status, code] of fieldCases) {
      const expected = await viaRequest(h, (await signed(fields)).init);
      expect(expected, name).toMatchObject({ status, body: { error: { code } } });
      const { head, body } = await signed(fields);
      expect(comparable((await raw(port, head, [body]))!), name).toEqual(expected);
    }
    // tampered bytes fail the signature over the exact body, on both paths
    const { head, body } = await signed({ image: IMAGE, texts: ['a star'] });
    const tampered = new Uint8Array(body);
    tampered[tampered.length - 10] ^= 1;
    expect(comparable((await raw(port, head, [tampered]))!)).toMatchObject({ status: 401, body: { error: { code: 'invalid_signature' } } });
    expect(h.runner.encodeCalls).toEqual([]);
  });

  it('drops a request whose client closed before its body ended, computing nothing, and keeps serving', async () => {
    const h = harness();
    const port = await listen(h, carrier);
    const { head, body } = await signed({ image: IMAGE, texts: ['a star'] });
    // the Content-Length announces the whole body; only half of it is sent before the close
    await raw(port, head, [body.subarray(0, body.length >> 1)], { cut: true, contentLength: body.length });
    const next = await signed({ image: IMAGE, texts: ['a star'] });
    expect((await raw(port, next.head, [next.body]))!.status).toBe(200);
    expect(h.runner.encodeCalls).toEqual([1]);
    // booked as before the Node reader: a failed read, answered to nobody, counts as internal
    const metrics = await (await h.app.request('/metrics')).text();
    expect(metrics).toMatch(/cris_requests_total\{route="\/v1\/segment",status="500"\} 1/);
    expect(metrics).toMatch(/cris_errors_total\{code="internal"\} 1/);
  });
});

describe.each(['adapter', 'listener'] as const)('a client that goes away (%s)', (carrier) => {
  it('drops its queued request: it never runs', async () => {
    const h = harness();
    const port = await listen(h, carrier);
    let release!: () => void;
    h.runner.gate = new Promise((resolve) => (release = resolve));
    const first = await signed({ image: new Uint8Array([1]), texts: ['a'] });
    const running = raw(port, first.head, [first.body]);
    await sleep(30); // its batch taken, the runner held
    const second = await signed({ image: new Uint8Array([2]), texts: ['b'] });
    const socket = createConnection({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const lines = [['host', 'x'], ['content-length', String(second.body.length)], ...second.head].map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`POST /v1/segment HTTP/1.1\r\n${lines.join('')}\r\n`);
    socket.write(second.body);
    await sleep(30); // queued behind the held batch
    socket.destroy();
    await sleep(30);
    release();
    expect((await running)!.status).toBe(200);
    await sleep(30);
    expect(h.runner.encodeCalls).toEqual([1]);
  });
});
