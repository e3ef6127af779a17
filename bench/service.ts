/**
 * `npm run bench:service`: the real GPU service on loopback (small bundle, CPU) —
 * throughput and p50/p99 latency at concurrency 1, 8, 32 with batching on and off, cold start to
 * ready, pre-processing of a 12 MP JPEG, N phrases in one request vs N single calls, and what a
 * batch saves in onnxruntime alone (bench/onnx-batch-cost.ts).
 * Prints a table and writes .cache/bench-service.png. Bounded: a fixed number of requests per
 * point. Env: CRIS_BENCH_BUNDLE (default: the test bundle), CRIS_BENCH_SCALE (request-count
 * multiplier, default 1).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readBundle } from '../gpu-service/src/bundle/index.js';
import { prepareImage } from '../gpu-service/src/imaging/index.js';
import { describeBatchCost, onnxBatchCost } from './onnx-batch-cost.js';
import { median, percentile } from './stats.js';
import { REPO_ROOT, defaultTestBundle, startService, type ServiceHandle } from '../test/helpers/service-process.js';
import { segmentInit } from '../test/helpers/service-requests.js';

const PORT = 18150;
const BUNDLE = process.env.CRIS_BENCH_BUNDLE ?? defaultTestBundle();
const SCALE = Number(process.env.CRIS_BENCH_SCALE ?? 1);
const CONCURRENCY = [1, 8, 32];
const COLOURS = ['#e53935', '#fb8c00', '#fdd835', '#43a047', '#1e88e5', '#8e24aa', '#ec407a'];
const benchStart = performance.now();

function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - benchStart) / 1000).toFixed(0)}s] ${message}\n`);
}

/** A 480x360 scene of coloured shapes, different per seed. */
async function scene(seed: number, width = 480, height = 360, format: 'png' | 'jpeg' = 'png'): Promise<Uint8Array> {
  let state = seed * 2654435761;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const shapes = Array.from({ length: 4 }, (_, i) => {
    const r = (0.05 + random() * 0.12) * Math.min(width, height);
    const x = r + random() * (width - 2 * r);
    const y = r + random() * (height - 2 * r);
    const fill = COLOURS[(seed + i) % COLOURS.length];
    return i % 2 ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${fill}"/>` : `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#d8d4cc"/>${shapes.join('')}</svg>`;
  const image = sharp(Buffer.from(svg));
  return new Uint8Array(format === 'png' ? await image.png().toBuffer() : await image.jpeg({ quality: 90 }).toBuffer());
}

interface LoadPoint {
  batching: 'on' | 'off';
  concurrency: number;
  requests: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  latencies: number[];
}

/** `total` requests from `concurrency` closed-loop clients, each a different image. */
async function load(service: ServiceHandle, images: Uint8Array[], concurrency: number, total: number): Promise<Omit<LoadPoint, 'batching'>> {
  const inits = await Promise.all(images.map((image, i) => segmentInit({ image, texts: [`the ${i % 2 ? 'round' : 'square'} shape`] }, service.secret)));
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const init = inits[next++ % inits.length];
        const t0 = performance.now();
        const response = await fetch(`${service.url}/v1/segment`, init);
        await response.arrayBuffer();
        if (response.status !== 200) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { concurrency, requests: total, throughput: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, latencies };
}

/** Two halves of one load point: total requests over total time; latency percentiles pooled. */
function combine(halves: Omit<LoadPoint, 'batching'>[]): Omit<LoadPoint, 'batching'> {
  const requests = halves.reduce((sum, h) => sum + h.requests, 0);
  const seconds = halves.reduce((sum, h) => sum + h.requests / h.throughput, 0);
  const latencies = halves.flatMap((h) => h.latencies).sort((a, b) => a - b);
  return {
    concurrency: halves[0].concurrency,
    requests,
    throughput: requests / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: halves.reduce((sum, h) => sum + h.errors, 0),
    latencies,
  };
}

async function withService<T>(
  env: Record<string, string>,
  run: (service: ServiceHandle) => Promise<T>,
  entry: 'source' | 'bundle' = 'source',
): Promise<T> {
  const service = await startService({ port: PORT, bundleDir: BUNDLE, env, readyTimeoutMs: 120_000, entry });
  try {
    return await run(service);
  } finally {
    await service.stop();
  }
}

function startMs(service: ServiceHandle): number {
  const line = service.logs().split('\n').find((l) => l.includes('"message":"ready"'));
  return line ? (JSON.parse(line) as { start_ms: number }).start_ms : NaN;
}

async function main(): Promise<void> {
  log(`bundle ${BUNDLE}`);
  const loadAtStart = loadavg()[0];
  const images = await Promise.all(Array.from({ length: 48 }, (_, i) => scene(i + 1)));
  const common = { CRIS_FEATURE_CACHE_ENTRIES: '0', CRIS_MAX_QUEUE_SIZE: '256', CRIS_LOG_LEVEL: 'info', CRIS_WORKERS: '1' };
  const counts: Record<number, number> = { 1: Math.round(16 * SCALE), 8: Math.round(48 * SCALE), 32: Math.round(96 * SCALE) };
  const points: LoadPoint[] = [];
  const coldStarts: { wallMs: number; inProcessMs: number }[] = [];

  // Both services run side by side (the idle one costs no CPU) and every concurrency level is
  // measured off, on, on, off, so a change in the shared machine's load hits both alike.
  const envs = {
    off: { ...common, CRIS_MAX_BATCH: '1', CRIS_MAX_QUEUE_DELAY_MS: '0' },
    on: { ...common, CRIS_MAX_BATCH: '8', CRIS_MAX_QUEUE_DELAY_MS: '5' },
  };
  const services: Partial<Record<'off' | 'on', ServiceHandle>> = {};
  try {
    for (const batching of ['off', 'on'] as const) {
      const service = await startService({ port: PORT + (batching === 'on' ? 1 : 0), bundleDir: BUNDLE, env: envs[batching], readyTimeoutMs: 120_000 });
      services[batching] = service;
      coldStarts.push({ wallMs: service.readyMs, inProcessMs: startMs(service) });
      log(`batching ${batching}: ready in ${service.readyMs.toFixed(0)} ms`);
      await load(service, images.slice(0, 4), 4, 8); // warm the HTTP path
    }
    for (const concurrency of CONCURRENCY) {
      const halves: Record<'off' | 'on', Omit<LoadPoint, 'batching'>[]> = { off: [], on: [] };
      for (const batching of ['off', 'on', 'on', 'off'] as const) {
        const elapsed = (performance.now() - benchStart) / 1000;
        log(`batching ${batching}, c=${concurrency}: ${Math.ceil(counts[concurrency] / 2)} requests (${elapsed.toFixed(0)} s in)`);
        halves[batching].push(await load(services[batching]!, images, concurrency, Math.ceil(counts[concurrency] / 2)));
      }
      for (const batching of ['off', 'on'] as const) points.push({ batching, ...combine(halves[batching]) });
    }
  } finally {
    await Promise.all(Object.values(services).map((service) => service.stop()));
  }
  points.sort((a, b) => (a.batching === b.batching ? a.concurrency - b.concurrency : a.batching === 'off' ? -1 : 1));

  // Cold start alone (nothing else running), three times each: TypeScript through tsx, and the
  // JavaScript bundle (gpu-service/deploy/build.mjs) the container image runs.
  const coldCpu: Record<'source' | 'bundle', number[]> = { source: [], bundle: [] };
  const coldWall: Record<'source' | 'bundle', number[]> = { source: [], bundle: [] };
  execFileSync(process.execPath, [join(REPO_ROOT, 'gpu-service/deploy/build.mjs')], { stdio: 'ignore' });
  for (let i = 0; i < 3; i++) {
    for (const entry of ['source', 'bundle'] as const) {
      await withService({ ...common, CRIS_MAX_BATCH: '8' }, async (service) => {
        if (entry === 'source') coldStarts.push({ wallMs: service.readyMs, inProcessMs: startMs(service) });
        coldWall[entry].push(service.readyMs);
        coldCpu[entry].push(service.cpuSeconds());
      }, entry);
    }
  }
  log('cold starts measured');

  // 12 MP JPEG pre-processing, in-process (the service's own function) and as the service reports it.
  const bundle = await readBundle(BUNDLE);
  const jpeg12 = await scene(7, 4000, 3000, 'jpeg');
  const prepTimes: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await prepareImage(jpeg12, bundle.manifest.input);
    prepTimes.push(performance.now() - t0);
  }
  prepTimes.sort((a, b) => a - b);
  const prepInProcess = percentile(prepTimes.slice(2), 50); // first runs warm sharp up

  // N phrases in one request vs N single calls (same image, feature cache off, batching on).
  const N = 8;
  const phraseImage = images[0];
  const phrases = Array.from({ length: N }, (_, i) => `the ${['red', 'blue', 'green', 'pink'][i % 4]} ${i < 4 ? 'circle' : 'square'}`);
  const nPhrase = await withService({ ...common, CRIS_MAX_BATCH: '8', CRIS_MAX_QUEUE_DELAY_MS: '5' }, async (service) => {
    const servicePrep: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${service.url}/v1/segment`, await segmentInit({ image: jpeg12, texts: ['the red circle'] }, service.secret));
      const body = (await response.json()) as { timing: { preprocess_ms: number } };
      servicePrep.push(body.timing.preprocess_ms);
    }
    servicePrep.sort((a, b) => a - b);
    const one: number[] = [];
    const many: number[] = [];
    for (let round = 0; round < 5; round++) {
      let t0 = performance.now();
      const response = await fetch(`${service.url}/v1/segment`, await segmentInit({ image: phraseImage, texts: phrases }, service.secret));
      await response.arrayBuffer();
      one.push(performance.now() - t0);
      t0 = performance.now();
      for (const phrase of phrases) {
        const single = await fetch(`${service.url}/v1/segment`, await segmentInit({ image: phraseImage, texts: [phrase] }, service.secret));
        await single.arrayBuffer();
      }
      many.push(performance.now() - t0);
    }
    one.sort((a, b) => a - b);
    many.sort((a, b) => a - b);
    return { one: percentile(one, 50), many: percentile(many, 50), servicePrep: percentile(servicePrep, 50) };
  });

  // What a batch saves in onnxruntime itself (nothing else running): the ceiling for the above.
  const batchCosts = [await onnxBatchCost(bundle, 1), await onnxBatchCost(bundle, 2)];
  log('onnxruntime batch cost measured');

  // ---- report ----
  const rows = points.map((p) => `| ${p.batching.padEnd(8)} | ${String(p.concurrency).padStart(3)} | ${String(p.requests).padStart(8)} | ${p.throughput.toFixed(2).padStart(9)} | ${p.p50.toFixed(0).padStart(7)} | ${p.p99.toFixed(0).padStart(7)} | ${String(p.errors).padStart(6)} |`);
  const at = (batching: string, c: number) => points.find((p) => p.batching === batching && p.concurrency === c)!;
  const speedup8 = at('on', 8).throughput / at('off', 8).throughput;
  const speedup32 = at('on', 32).throughput / at('off', 32).throughput;
  const cold = coldStarts.slice(2).map((c) => c.wallMs).sort((a, b) => a - b);
  const coldInside = coldStarts.slice(2).map((c) => c.inProcessMs).sort((a, b) => a - b);
  const table = [
    `GPU service benchmark — bundle ${BUNDLE.replace(REPO_ROOT + '/', '')}, CPU provider, loopback, 1 inference worker`,
    `machine: ${availableParallelism()} CPU cores, 1-min load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end (shared machine: absolute numbers move with it)`,
    '',
    '| batching | c   | requests | req/s     | p50 ms  | p99 ms  | errors |',
    '|----------|-----|----------|-----------|---------|---------|--------|',
    ...rows,
    '',
    `batching speed-up: c=8 ${speedup8.toFixed(2)}x (target >= 1.3x), c=32 ${speedup32.toFixed(2)}x`,
    ...batchCosts.map(describeBatchCost),
    `cold start to ready (spawn -> /readyz 200, median of 3, max batch 8 warm-up): ${percentile(cold, 50).toFixed(0)} ms; inside the process (main start -> ready): ${percentile(coldInside, 50).toFixed(0)} ms (target <= 1500 ms)`,
    `cold start, CPU seconds used by then (all threads, median of 3): TypeScript via tsx ${median(coldCpu.source).toFixed(2)} s, JS bundle ${median(coldCpu.bundle).toFixed(2)} s; wall: tsx ${median(coldWall.source).toFixed(0)} ms, bundle ${median(coldWall.bundle).toFixed(0)} ms`,
    `12 MP JPEG (4000x3000) pre-processing: ${prepInProcess.toFixed(1)} ms in-process median, ${nPhrase.servicePrep.toFixed(1)} ms as the service reports it (target <= 60 ms)`,
    `${N} phrases, one request: ${nPhrase.one.toFixed(0)} ms; ${N} single-phrase calls in a row: ${nPhrase.many.toFixed(0)} ms (${(nPhrase.many / nPhrase.one).toFixed(2)}x)`,
  ].join('\n');
  process.stdout.write(table + '\n');

  const out = join(REPO_ROOT, '.cache', 'bench-service.png');
  mkdirSync(join(REPO_ROOT, '.cache'), { recursive: true });
  writeFileSync(out.replace(/\.png$/, '.txt'), table + '\n');
  await sharp(Buffer.from(chartSvg(points, table))).png().toFile(out);
  log(`chart written to ${out}`);
}

/** Bars: throughput per concurrency, batching off vs on; and p50/p99 latency. */
function chartSvg(points: LoadPoint[], table: string): string {
  const width = 1180;
  const height = 600;
  const panel = (x0: number, title: string, value: (p: LoadPoint) => number, unit: string, extra?: (p: LoadPoint) => number) => {
    const max = Math.max(...points.map((p) => Math.max(value(p), extra ? extra(p) : 0))) * 1.15 || 1;
    const chartH = 300;
    const base = 360;
    let svg = `<text x="${x0 + 200}" y="40" font-size="18" text-anchor="middle" font-family="sans-serif">${title}</text>`;
    CONCURRENCY.forEach((c, ci) => {
      (['off', 'on'] as const).forEach((batching, bi) => {
        const p = points.find((q) => q.batching === batching && q.concurrency === c);
        if (!p) return;
        const x = x0 + 30 + ci * 130 + bi * 50;
        const h = (value(p) / max) * chartH;
        svg += `<rect x="${x}" y="${base - h}" width="44" height="${h}" fill="${batching === 'on' ? '#1e88e5' : '#bdbdbd'}"/>`;
        svg += `<text x="${x + 22}" y="${base - h - 6}" font-size="12" text-anchor="middle" font-family="sans-serif">${value(p).toFixed(value(p) < 10 ? 1 : 0)}</text>`;
        if (extra) {
          const e = (extra(p) / max) * chartH;
          svg += `<line x1="${x}" x2="${x + 44}" y1="${base - e}" y2="${base - e}" stroke="#e53935" stroke-width="3"/>`;
        }
      });
      svg += `<text x="${x0 + 30 + ci * 130 + 47}" y="${base + 20}" font-size="14" text-anchor="middle" font-family="sans-serif">c=${c}</text>`;
    });
    svg += `<line x1="${x0 + 20}" x2="${x0 + 420}" y1="${base}" y2="${base}" stroke="#333"/>`;
    svg += `<text x="${x0 + 200}" y="${base + 42}" font-size="12" text-anchor="middle" font-family="sans-serif">${unit}</text>`;
    return svg;
  };
  const legend = `<rect x="30" y="430" width="14" height="14" fill="#bdbdbd"/><text x="50" y="442" font-size="13" font-family="sans-serif">batching off (max batch 1)</text>` +
    `<rect x="260" y="430" width="14" height="14" fill="#1e88e5"/><text x="280" y="442" font-size="13" font-family="sans-serif">batching on (max batch 8, 5 ms)</text>` +
    `<line x1="520" x2="544" y1="437" y2="437" stroke="#e53935" stroke-width="3"/><text x="550" y="442" font-size="13" font-family="sans-serif">p99 latency</text>`;
  const notes = table.split('\n').filter((line) => !line.startsWith('|') && line.trim()).slice(1)
    .map((line, i) => `<text x="30" y="${480 + i * 22}" font-size="12" font-family="monospace">${line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>` +
    panel(20, 'Throughput (requests/s)', (p) => p.throughput, 'requests per second, higher is better') +
    panel(600, 'Latency p50 (bars) and p99 (red), ms', (p) => p.p50, 'milliseconds, lower is better', (p) => p.p99) +
    legend + notes + '</svg>';
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
