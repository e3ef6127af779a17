/**
 * `npm run soak`: the whole stack on loopback (s3rver, the GPU service on CPU with
 * models/cris-shapes-s, the edge under `wrangler dev`) under a steady mixed load (misses, repeats
 * that are cache hits, result reads, usage reads) for a while, then at rest; the resident memory
 * (RSS) of the service process and of workerd is sampled every few seconds, and so is the edge
 * Worker's own JavaScript heap (bench/worker-heap.ts, through wrangler's inspector), with a
 * post-GC reading and its largest holders at the end of warm-up and at the end (after the last
 * RSS sample, since a snapshot costs workerd memory of its own):
 * what our code keeps, apart from the local runtime's memory. Prints progress with
 * an ETA, writes bench/results/soak-<date>.json and docs/soak-memory.png (bench/soak_plot.py,
 * matplotlib from models/.venv), and says whether memory is flat after warm-up.
 *
 *   npm run soak [-- --minutes 10 --concurrency 4 --sample 5 --rest 1]
 *
 * Bounded: `minutes` in all (the last `rest` minutes without load), loopback only; run it inside
 * netns-run on a shared machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { edgeVars, REPO_ROOT, seedApiKey, startEdge } from '../test/helpers/edge-process.js';
import { startS3rver, startService, TRAINED_BUNDLE } from '../test/helpers/service-process.js';
import { commandLine, descendants } from '../test/helpers/stack-processes.js';
import { connectWorkerHeap, type RetainedHeap } from './worker-heap.js';

const PORTS = { s3: 18400, service: 18401, edge: 18402 };
const SECRET = 'soak-secret-0123456789abcdef';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const MINUTES = arg('minutes', 10);
const CONCURRENCY = arg('concurrency', 4);
const SAMPLE_S = arg('sample', 5);
const REST_MINUTES = Math.min(arg('rest', 1), MINUTES / 2);
/** The first part of the load phase is warm-up (caches filling, JIT); flatness is judged after it. */
const WARMUP_FRACTION = 0.25;

/** Resident memory of these processes together, in MB (Linux /proc). */
function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((row) => row.startsWith('VmRSS:'));
      kb += Number(line?.split(/\s+/)[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

async function scenes(count: number): Promise<Buffer[]> {
  const colours = ['#e01010', '#10a010', '#1030e0', '#e0c010'];
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const x = 20 + ((i * 17) % 100);
      const y = 20 + ((i * 29) % 100);
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160"><rect width="160" height="160" fill="#8a8a8a"/>`
        + `<circle cx="${x}" cy="${y}" r="${10 + (i % 4) * 4}" fill="${colours[i % 4]}"/><rect x="${140 - x}" y="${150 - y}" width="18" height="18" fill="${colours[(i + 1) % 4]}"/></svg>`;
      return sharp(Buffer.from(svg)).png().toBuffer();
    }),
  );
}

const PHRASES = ['the red circle', 'the green square', 'the large blue circle', 'the yellow one', 'the leftmost shape', 'the small circle', 'the square on the right', 'the lowest one'];

interface Sample {
  seconds: number;
  phase: 'load' | 'rest';
  serviceMb: number;
  workerdMb: number;
  /** The edge Worker isolate's JS heap in use (garbage included). */
  workerHeapMb: number;
  requests: number;
}

interface Counts {
  segment: number;
  miss: number;
  hit: number;
  reads: number;
  errors: Record<string, number>;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Memory growth after warm-up: slope (MB/min) over the post-warm-up load samples, and first vs last minute. */
function judge(samples: Sample[], key: 'serviceMb' | 'workerdMb', warmupEndS: number) {
  const steady = samples.filter((s) => s.phase === 'load' && s.seconds >= warmupEndS);
  const perMinute = slope(steady.map((s) => s.seconds / 60), steady.map((s) => s[key]));
  const window = Math.max(1, Math.round(60 / SAMPLE_S));
  const first = median(steady.slice(0, window).map((s) => s[key]));
  const last = median(steady.slice(-window).map((s) => s[key]));
  const rest = samples.filter((s) => s.phase === 'rest').map((s) => s[key]);
  const growthMb = last - first;
  // Flat: under 10 % (and under 40 MB) from the first steady minute to the last.
  const flat = growthMb < Math.min(40, 0.1 * first);
  return { firstSteadyMb: first, lastSteadyMb: last, growthMb, slopeMbPerMin: perMinute, restMedianMb: median(rest), flat };
}

async function main(): Promise<void> {
  const started = Date.now();
  const stateDir = mkdtempSync(join(tmpdir(), 'cris-soak-'));
  console.log(`soak: ${MINUTES} min (${REST_MINUTES} at rest), concurrency ${CONCURRENCY}, RSS every ${SAMPLE_S} s; ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const s3 = await startS3rver({ port: PORTS.s3, directory: join(stateDir, 's3') });
  const service = await startService({ port: PORTS.service, bundleDir: TRAINED_BUNDLE, secret: SECRET, env: s3.env, readyTimeoutMs: 180_000 });
  const manifest = JSON.parse(readFileSync(join(TRAINED_BUNDLE, 'manifest.json'), 'utf8')) as { id: string; version: string };
  const persistTo = join(stateDir, 'wrangler');
  const [edge, { apiKey }] = await Promise.all([
    startEdge({
      port: PORTS.edge,
      persistTo,
      vars: edgeVars({ gpuUrls: [service.url], hmacSecret: SECRET, s3: s3.config, model: `${manifest.id}@${manifest.version}`, gpuTimeoutMs: 60_000 }),
      readyTimeoutMs: 180_000,
    }),
    seedApiKey({ persistTo, plan: 'bench' }),
  ]);
  const servicePids = () => [service.child.pid!, ...descendants(service.child.pid!)];
  const workerdPids = () => descendants(edge.child.pid!).filter((pid) => /workerd/.test(commandLine(pid)));
  const heap = await connectWorkerHeap(PORTS.edge + 1); // startEdge's inspector port
  let workerHeapMb = await heap.usedMb();
  const retained: Array<{ at: string; seconds: number; workerdMbBefore: number; workerdMbAfter: number } & RetainedHeap> = [];
  console.log(`stack up in ${((Date.now() - started) / 1000).toFixed(0)} s; workerd pids ${workerdPids().join(',')}, service pid ${service.child.pid}`);

  const images = await scenes(48);
  const counts: Counts = { segment: 0, miss: 0, hit: 0, reads: 0, errors: {} };
  const ids: string[] = [];
  const auth = { authorization: `Bearer ${apiKey}` };
  const count = (what: string) => (counts.errors[what] = (counts.errors[what] ?? 0) + 1);
  const loadStart = Date.now();
  const loadEnd = loadStart + (MINUTES - REST_MINUTES) * 60_000;
  const end = loadStart + MINUTES * 60_000;
  const warmupEndS = (MINUTES - REST_MINUTES) * 60 * WARMUP_FRACTION;

  async function client(seed: number): Promise<void> {
    let i = seed;
    while (Date.now() < loadEnd) {
      i += 7;
      const roll = i % 20;
      try {
        if (roll < 2 && ids.length > 0) {
          const res = await fetch(`http://127.0.0.1:${PORTS.edge}/v1/results/${ids[i % ids.length]}`, { headers: auth, signal: AbortSignal.timeout(60_000) });
          await res.arrayBuffer();
          counts.reads += 1;
          if (res.status !== 200) count(`results ${res.status}`);
          continue;
        }
        if (roll === 2) {
          const res = await fetch(`http://127.0.0.1:${PORTS.edge}/v1/usage`, { headers: auth, signal: AbortSignal.timeout(60_000) });
          await res.arrayBuffer();
          counts.reads += 1;
          if (res.status !== 200) count(`usage ${res.status}`);
          continue;
        }
        // A third new (a miss: a phrase not asked before, on one of 48 images, so the service's
        // feature cache is used too), the rest repeats of the 48 x 8 phrases (hits once warm).
        const form = new FormData();
        form.append('image', new Blob([new Uint8Array(images[i % images.length]!)], { type: 'image/png' }), 'scene.png');
        const phrase = PHRASES[(i * 3) % PHRASES.length]!;
        form.append('text', roll < 9 ? `${phrase} number ${i}` : phrase);
        form.append('format', (i >> 3) % 2 === 0 ? 'polygon' : 'rle');
        const res = await fetch(`http://127.0.0.1:${PORTS.edge}/v1/segment`, { method: 'POST', headers: auth, body: form, signal: AbortSignal.timeout(90_000) });
        const body = (await res.json().catch(() => null)) as { id?: string } | null;
        counts.segment += 1;
        if (res.status !== 200) {
          count(`segment ${res.status}`);
          continue;
        }
        if (res.headers.get('x-cache') === 'HIT') counts.hit += 1;
        else counts.miss += 1;
        if (body?.id && ids.length < 2000) ids.push(body.id);
      } catch (error) {
        count((error as Error).name);
      }
    }
  }

  const samples: Sample[] = [];
  const sample = () => {
    const seconds = (Date.now() - loadStart) / 1000;
    const row: Sample = { seconds, phase: Date.now() < loadEnd ? 'load' : 'rest', serviceMb: rssMb(servicePids()), workerdMb: rssMb(workerdPids()), workerHeapMb, requests: counts.segment + counts.reads };
    samples.push(row);
    void heap.usedMb().then((mb) => (workerHeapMb = mb), () => {});
    const etaS = Math.max(0, (end - Date.now()) / 1000);
    console.log(`[${(seconds / 60).toFixed(1)}/${MINUTES} min, ETA ${Math.floor(etaS / 60)}m${String(Math.round(etaS % 60)).padStart(2, '0')}s] ${row.phase} service ${row.serviceMb.toFixed(0)} MB, workerd ${row.workerdMb.toFixed(0)} MB (Worker JS heap ${row.workerHeapMb.toFixed(1)} MB); requests ${row.requests} (miss ${counts.miss}, hit ${counts.hit}, reads ${counts.reads}, errors ${JSON.stringify(counts.errors)})`);
  };
  sample();
  const timer = setInterval(sample, SAMPLE_S * 1000);
  /** The Worker's heap after a GC (a snapshot) at `atMs`, with its largest holders. */
  const retainedAt = async (at: string, atMs: number) => {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())));
    const workerdMbBefore = rssMb(workerdPids());
    const reading = await heap.retained();
    const workerdMbAfter = rssMb(workerdPids()); // a snapshot costs workerd memory of its own
    retained.push({ at, seconds: (Date.now() - loadStart) / 1000, workerdMbBefore, workerdMbAfter, ...reading });
    console.log(`Worker JS heap after GC, ${at}: ${reading.usedMb.toFixed(2)} MB (workerd ${workerdMbBefore.toFixed(0)} -> ${workerdMbAfter.toFixed(0)} MB across the snapshot); largest: ${reading.top.map((t) => `${t.name || '(anonymous)'} ${t.mb} MB (${t.count})`).join(', ')}`);
  };
  try {
    await Promise.all([
      ...Array.from({ length: CONCURRENCY }, (_, k) => client(k)),
      // Inside the warm-up, so the snapshot's own cost is not counted as growth.
      retainedAt('end of warm-up', loadStart + warmupEndS * 1000 - 10_000),
    ]);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, end - Date.now())));
    sample();
    await retainedAt('at the end (rest)', Date.now());
  } finally {
    clearInterval(timer);
    heap.close();
    await edge.stop();
    await service.stop(10_000);
    await s3.close();
    rmSync(stateDir, { recursive: true, force: true });
  }

  const verdict = { service: judge(samples, 'serviceMb', warmupEndS), workerd: judge(samples, 'workerdMb', warmupEndS) };
  const date = new Date().toISOString().slice(0, 10);
  const report = {
    date: new Date().toISOString(),
    minutes: MINUTES,
    restMinutes: REST_MINUTES,
    concurrency: CONCURRENCY,
    sampleSeconds: SAMPLE_S,
    warmupEndSeconds: warmupEndS,
    machine: { cpus: cpus().length, loadAverageAtEnd: loadavg() },
    counts,
    verdict,
    workerHeapRetained: retained,
    samples,
  };
  mkdirSync(join(REPO_ROOT, 'bench', 'results'), { recursive: true });
  const jsonPath = join(REPO_ROOT, 'bench', 'results', `soak-${date}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 1)}\n`);
  const png = join(REPO_ROOT, 'docs', 'soak-memory.png');
  execFileSync(join(REPO_ROOT, 'models', '.venv', 'bin', 'python'), [join(REPO_ROOT, 'bench', 'soak_plot.py'), jsonPath, png], { stdio: 'inherit' });
  for (const [name, v] of Object.entries(verdict)) {
    console.log(`${name}: ${v.firstSteadyMb.toFixed(0)} MB after warm-up -> ${v.lastSteadyMb.toFixed(0)} MB at the end of the load (${v.growthMb >= 0 ? '+' : ''}${v.growthMb.toFixed(1)} MB, slope ${v.slopeMbPerMin.toFixed(2)} MB/min), ${v.restMedianMb.toFixed(0)} MB at rest: ${v.flat ? 'flat' : 'GROWING'}`);
  }
  if (retained.length > 0) console.log(`Worker JS heap after GC: ${retained.map((r) => `${r.usedMb.toFixed(2)} MB ${r.at}`).join(', ')}`);
  console.log(`wrote ${jsonPath} and ${png}`);
}

await main();
