/**
 * The breaker with real processes: `wrangler dev` (workerd) in front of a stand-in GPU service on
 * loopback (a plain HTTP server that answers fast, holds "HEAVY" requests until the caller goes
 * away, and can freeze, /readyz included). S3 lookups go to the same server (404). A heavy key
 * whose requests time out at the edge does not open the breaker: a light key is served
 * throughout; a frozen service (no answer, no /readyz) opens it after one timeout and one probe;
 * after the cooldown a ready probe closes it. (A client's disconnect is tested in workerd,
 * test/edge/disconnect.test.ts: wrangler dev's local proxy does not pass it on to the Worker.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeFetch, edgeVars, seedApiKey, startEdge, type EdgeHandle } from '../helpers/edge-process.js';

const PORTS = { edge: 18390, upstream: 18393 };
// Generous for a loaded machine: a probe that times out for load alone would open the breaker.
const GPU_TIMEOUT_MS = 6000;
const PROBE_TIMEOUT_MS = 3000;
const SECRET = 'edge-breaker-secret-0123456789';
const MODEL = 'cris-shapes-s@1.0.0';

let edge: EdgeHandle;
let upstream: Server;
let frozen = false;
/** Segment calls the stand-in received, and when each one's connection closed unanswered. */
const calls: { phrase: string; receivedAt: number; closedAt?: number }[] = [];
const persistTo = mkdtempSync(join(tmpdir(), 'cris-edge-breaker-'));

function hold(req: IncomingMessage, res: ServerResponse, record?: { closedAt?: number }): void {
  res.on('close', () => {
    if (record && !res.writableFinished) record.closedAt = Date.now();
  });
  void req;
}

function answer(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method === 'GET' && url.pathname === '/readyz') return frozen ? hold(req, res) : void res.writeHead(200).end('ready');
  if (req.method === 'GET') return void res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>'); // S3
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('latin1');
    const phrase = /name="text"\r\n\r\n([^\r]*)/.exec(body)?.[1] ?? '';
    const record: { phrase: string; receivedAt: number; closedAt?: number } = { phrase, receivedAt: Date.now() };
    calls.push(record);
    if (frozen || /^HEAVY/.test(phrase)) return hold(req, res, record);
    const resultKey = /"resultKey":"([0-9a-f]{64})"/.exec(body)?.[1];
    const result = {
      id: resultKey, model: MODEL, width: 4, height: 3, cached: false, timing: { total_ms: 5 },
      results: [{ text: phrase, found: true, presence: null, score: 0.9, bbox: [0, 0, 1, 1], area: 1, regions: 1, mask: { format: 'rle', size: [3, 4], counts: '0a' } }],
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  });
}

beforeAll(async () => {
  upstream = createServer(answer);
  await new Promise<void>((resolve) => upstream.listen(PORTS.upstream, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${PORTS.upstream}`;
  edge = await startEdge({
    port: PORTS.edge,
    persistTo,
    vars: {
      ...edgeVars({ gpuUrls: [url], hmacSecret: SECRET, model: MODEL, gpuTimeoutMs: GPU_TIMEOUT_MS, breakerFailures: 3, breakerCooldownSeconds: 2, s3: { endpoint: url, bucket: 'cris-results', region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }),
      BREAKER_PROBE_TIMEOUT_MS: String(PROBE_TIMEOUT_MS),
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  rmSync(persistTo, { recursive: true, force: true });
});

function segment(apiKey: string, phrase: string): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([crypto.getRandomValues(new Uint8Array(256))], { type: 'image/png' }), 'scene.png');
  form.append('text', phrase);
  form.append('format', 'rle');
  return edgeFetch(`${edge.origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
}

async function breakerState(): Promise<string> {
  return ((await (await edgeFetch(`${edge.origin}/healthz`)).json()) as { breaker: { state: string } }).breaker.state;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('wrangler dev + a stand-in GPU service', () => {
  it("a heavy key's timeouts leave the breaker closed for a light key; a frozen service opens it after one timeout + probe", async () => {
    const [{ apiKey: heavy }, { apiKey: light }] = await Promise.all([seedApiKey({ persistTo, plan: 'bench' }), seedApiKey({ persistTo, plan: 'bench' })]);
    const heavyAnswers = Promise.all(Array.from({ length: 4 }, (_, i) => segment(heavy, `HEAVY 40 MP x 16 #${i}`)));
    const lightStatuses: number[] = [];
    const lightUntil = Date.now() + GPU_TIMEOUT_MS + PROBE_TIMEOUT_MS + 1000;
    while (Date.now() < lightUntil) {
      lightStatuses.push((await segment(light, `the light circle ${lightStatuses.length}`)).status);
      await sleep(250);
    }
    const heavyResponses = await heavyAnswers;
    expect(heavyResponses.map((res) => res.status)).toEqual([504, 504, 504, 504]);
    for (const res of heavyResponses) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await sleep(PROBE_TIMEOUT_MS + 500);
    expect(await breakerState()).toBe('closed');
    lightStatuses.push((await segment(light, 'the light circle, after')).status);
    expect(lightStatuses.length).toBeGreaterThan(3);
    expect(new Set(lightStatuses)).toEqual(new Set([200]));

    frozen = true;
    try {
      const started = Date.now();
      const timedOut = await segment(light, 'the circle while frozen');
      expect(timedOut.status).toBe(504);
      while ((await breakerState()) !== 'open' && Date.now() - started < GPU_TIMEOUT_MS + PROBE_TIMEOUT_MS + 5000) await sleep(100);
      expect(await breakerState()).toBe('open');
      expect(Date.now() - started).toBeLessThan(GPU_TIMEOUT_MS + PROBE_TIMEOUT_MS + 4000); // not 3 timeouts (18 s)
      const callsBefore = calls.length;
      const refusedAt = Date.now();
      const refused = await segment(light, 'the circle, breaker open');
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Date.now() - refusedAt).toBeLessThan(3000); // at once, not after a GPU timeout
      expect(calls.length).toBe(callsBefore);
    } finally {
      frozen = false;
    }
    await sleep(2500); // the cooldown
    expect((await segment(light, 'the circle, service back')).status).toBe(200);
    expect(await breakerState()).toBe('closed');
  });
});
