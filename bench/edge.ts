/**
 * `npm run bench:edge`: what a result-cache hit costs at the edge. Runs `wrangler dev` (workerd)
 * on loopback with a stub GPU service (only used once, to fill the cache) and s3rver, then
 * measures, in the same worker:
 *   - GET /healthz (bare route: no auth, no Durable Object, no cache)
 *   - POST /v1/segment answered from the edge cache (auth via KV, meter DO admit+settle,
 *     sha256 of the image, result key, Cache API match)
 * with autocannon (req/s, p50/p99 under load; autocannon's latency resolution is 1 ms) and with a
 * serial probe (one request at a time, sub-millisecond p50/p99). Target: a hit adds <= 2 ms at p50.
 * Prints a table and writes .cache/bench-edge.png. Bounded: about a minute plus start-up.
 *
 *   npm run bench:edge [-- --duration 8 --connections 10 --serial 400]
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { edgeVars, REPO_ROOT, seedApiKey, startEdge } from '../test/helpers/edge-process.js';
import { startS3rver } from '../test/helpers/service-process.js';
import { ForwardOptionsSchema, type SegmentResult } from '../contract/segment.js';
import { median, percentile } from './stats.js';

/** The part of autocannon's API used here (it ships no types). */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: { url: string; connections: number; duration: number; method: string; headers: Record<string, string>; body?: Buffer }) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const PORTS = { edge: 18220, stub: 18222, s3: 18223 };
const MODEL = 'cris-shapes-s@1.0.0';
const SECRET = 'bench-edge-secret-0123456789';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}
const DURATION_S = arg('duration', 8);
const CONNECTIONS = arg('connections', 10);
const SERIAL = arg('serial', 400);

/** Stands in for the GPU service: answers one fixed result for whatever it is sent. */
async function startStubGpu(port: number): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = await new Request('http://stub/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) }).formData();
    const options = ForwardOptionsSchema.parse(JSON.parse(String(form.get('options'))));
    const result: SegmentResult = {
      id: options.resultKey,
      image_id: '0'.repeat(64),
      model: MODEL,
      width: 96,
      height: 64,
      results: form.getAll('text').map((text) => ({
        text: String(text),
        found: true,
        presence: null,
        score: 0.93,
        bbox: [16, 16, 28, 28],
        area: 616,
        regions: 1,
        mask: { format: 'polygon', coordinates: [[[[16, 30], [30, 16], [44, 30], [30, 44]]]] },
      })),
      cached: false,
      timing: { total_ms: 40 },
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

interface Measured {
  route: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  serialP50: number;
  serialP99: number;
}

interface Case {
  route: string;
  url: string;
  init: { method: string; headers: Record<string, string>; body?: Buffer };
}

/** Server-Timing durations (ms) seen on hits, per metric: where the Worker's time went. */
const serverTimings = new Map<string, number[]>();

function recordServerTiming(header: string | null): void {
  for (const part of (header ?? '').split(',')) {
    const match = /^\s*([\w-]+);dur=([0-9.]+)/.exec(part);
    if (match) serverTimings.set(match[1], [...(serverTimings.get(match[1]) ?? []), Number(match[2])]);
  }
}

async function timed(url: string, init: Case['init']): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { ...init, body: init.body ? new Uint8Array(init.body) : undefined });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  recordServerTiming(res.headers.get('server-timing'));
  return performance.now() - started;
}

/**
 * One request at a time, bare and hit interleaved, so both see the same machine load (this
 * machine is shared); returns each route's p50/p99 and the median of the paired differences.
 */
async function interleavedProbe(bare: Case, hit: Case, count: number) {
  const bareTimes: number[] = [];
  const hitTimes: number[] = [];
  const differences: number[] = [];
  for (let i = 0; i < count; i++) {
    const first = i % 2 === 0;
    const a = first ? await timed(bare.url, bare.init) : 0;
    const b = await timed(hit.url, hit.init);
    const c = first ? a : await timed(bare.url, bare.init);
    bareTimes.push(c);
    hitTimes.push(b);
    differences.push(b - c);
  }
  const sort = (values: number[]) => [...values].sort((x, y) => x - y);
  const [bareSorted, hitSorted, diffSorted] = [sort(bareTimes), sort(hitTimes), sort(differences)];
  return {
    bare: { p50: percentile(bareSorted, 50), p99: percentile(bareSorted, 99) },
    hit: { p50: percentile(hitSorted, 50), p99: percentile(hitSorted, 99) },
    addedP50: percentile(diffSorted, 50),
  };
}

async function load(url: string, init: { method: string; headers: Record<string, string>; body?: Buffer }): Promise<LoadResult> {
  return autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, method: init.method, headers: init.headers, body: init.body });
}

function chartSvg(rows: Measured[]): string {
  const width = 760;
  const height = 340;
  const panel = (x: number, title: string, values: { label: string; value: number; color: string }[], unit: string) => {
    const max = Math.max(...values.map((v) => v.value)) * 1.15 || 1;
    const barWidth = 60;
    const bars = values
      .map((v, i) => {
        const h = (v.value / max) * 220;
        const bx = x + 30 + i * (barWidth + 18);
        return `<rect x="${bx}" y="${280 - h}" width="${barWidth}" height="${h}" fill="${v.color}"/>
<text x="${bx + barWidth / 2}" y="${274 - h}" font-size="12" text-anchor="middle">${v.value.toFixed(unit === 'req/s' ? 0 : 2)}</text>
<text x="${bx + barWidth / 2}" y="298" font-size="11" text-anchor="middle">${v.label}</text>`;
      })
      .join('\n');
    return `<text x="${x + 10}" y="30" font-size="15" font-weight="bold">${title}</text>${bars}<line x1="${x + 20}" y1="280" x2="${x + 360}" y2="280" stroke="#333"/>`;
  };
  const [bare, hit] = rows;
  const colors = { bare: '#7a9cc6', hit: '#e07b39' };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panel(0, `Throughput (${CONNECTIONS} connections)`, [
    { label: '/healthz', value: bare.reqPerSec, color: colors.bare },
    { label: 'cache hit', value: hit.reqPerSec, color: colors.hit },
  ], 'req/s')}
${panel(380, 'Serial latency, ms', [
    { label: 'bare p50', value: bare.serialP50, color: colors.bare },
    { label: 'hit p50', value: hit.serialP50, color: colors.hit },
    { label: 'bare p99', value: bare.serialP99, color: colors.bare },
    { label: 'hit p99', value: hit.serialP99, color: colors.hit },
  ], 'ms')}
<text x="10" y="330" font-size="11" fill="#555">wrangler dev (workerd) on loopback; a hit = auth (KV, memoised 5 s) + sha256 + Cache API + meter DO; target: hit adds &lt;= 2 ms at p50</text>
</svg>`;
}

async function main(): Promise<void> {
  const persistTo = mkdtempSync(join(tmpdir(), 'cris-bench-edge-'));
  const s3 = await startS3rver({ port: PORTS.s3 });
  const stub = await startStubGpu(PORTS.stub);
  console.log('starting wrangler dev and seeding a key ...');
  const [edge, { apiKey }] = await Promise.all([
    startEdge({ port: PORTS.edge, persistTo, vars: edgeVars({ gpuUrls: [`http://127.0.0.1:${PORTS.stub}`], hmacSecret: SECRET, s3: s3.config, model: MODEL }) }),
    seedApiKey({ persistTo, plan: 'bench' }),
  ]);
  try {
    const image = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#8a8a8a' } }).png().toBuffer();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'scene.png');
    form.append('text', 'the grey background');
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    const segmentHeaders = { authorization: `Bearer ${apiKey}`, 'content-type': encoded.headers.get('content-type')! };
    const segmentUrl = `${edge.origin}/v1/segment`;
    const first = await fetch(segmentUrl, { method: 'POST', headers: segmentHeaders, body });
    if (first.status !== 200) throw new Error(`first request: ${first.status} ${await first.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await fetch(segmentUrl, { method: 'POST', headers: segmentHeaders, body });
    await second.arrayBuffer();
    if (second.headers.get('x-cache') !== 'HIT') throw new Error(`expected a cache hit, got ${second.headers.get('x-cache')}`);

    const cases: Case[] = [
      { route: 'GET /healthz (bare)', url: `${edge.origin}/healthz`, init: { method: 'GET', headers: {} as Record<string, string> } },
      { route: 'POST /v1/segment (cache hit)', url: segmentUrl, init: { method: 'POST', headers: segmentHeaders, body } },
    ];
    console.log(`serial probe: ${SERIAL} interleaved pairs (warm-up 50) ...`);
    await interleavedProbe(cases[0], cases[1], 50);
    const serial = await interleavedProbe(cases[0], cases[1], SERIAL);
    const rows: Measured[] = [];
    for (const [index, c] of cases.entries()) {
      console.log(`${c.route}: autocannon ${CONNECTIONS} connections for ${DURATION_S} s ...`);
      const result = await load(c.url, c.init);
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${c.route}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      const probe = index === 0 ? serial.bare : serial.hit;
      rows.push({ route: c.route, reqPerSec: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, serialP50: probe.p50, serialP99: probe.p99 });
    }
    console.log('\n| route | req/s | p50 ms (load) | p99 ms (load) | p50 ms (serial) | p99 ms (serial) |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(`| ${row.route} | ${row.reqPerSec.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.serialP50.toFixed(2)} | ${row.serialP99.toFixed(2)} |`);
    }
    const added = serial.addedP50;
    console.log(`\ncache hit adds ${added.toFixed(2)} ms at p50 (median of paired serial differences; p50 gap ${(rows[1].serialP50 - rows[0].serialP50).toFixed(2)} ms) over the bare route; target <= 2 ms: ${added <= 2 ? 'met' : 'NOT met'}`);
    const medians = [...serverTimings].map(([name, values]) => `${name} ${median(values).toFixed(1)}`);
    console.log(`inside the Worker on hits (Server-Timing p50, ms; workerd clocks advance only on I/O): ${medians.join(', ')}`);
    console.log(`load average during the run: ${loadavg().map((v) => v.toFixed(1)).join(' ')} (${cpus().length} CPUs)`);
    console.log(`under load: p50 ${rows[0].p50} -> ${rows[1].p50} ms (1 ms resolution)`);
    const out = join(REPO_ROOT, '.cache', 'bench-edge.png');
    mkdirSync(join(REPO_ROOT, '.cache'), { recursive: true });
    await sharp(Buffer.from(chartSvg(rows))).png().toFile(out);
    console.log(`chart: ${out}`);
  } finally {
    await edge.stop();
    stub.close();
    await s3.close();
    rmSync(persistTo, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
