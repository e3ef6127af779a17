/**
 * `npm run bench:stages`: where a request's CPU goes, stage by stage, ours against the peer
 * baseline (bench/peer/app.py, timed by bench/peer/stages.py in its own venv) on bench:service's
 * scenes (480x360, one phrase each): decode, decode + letterbox + normalise, image encoder and
 * head (batch 1; ours also per row of a batch of 8, what the batcher gets under load), and one
 * phrase's post-processing to RLE (ours also to polygons). CPU ms per call of the whole process
 * (every thread: onnxruntime's, sharp's, OpenCV's), in rounds ours, peer, peer, ours.
 * Not measured here: HTTP and request parsing, thread hops (bench:service measures the whole).
 * Env: CRIS_BENCH_BUNDLE (default: the test bundle), CRIS_BENCH_ITERATIONS (per stage, 200).
 * Prints a table; writes .cache/bench-stages.txt and .png.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { cpuUsage } from 'node:process';
import sharp from 'sharp';
import { readBundle } from '../gpu-service/src/bundle/index.js';
import type { PreparedImage } from '../gpu-service/src/core/types.js';
import { decodeForNetwork } from '../gpu-service/src/imaging/index.js';
import { createOnnxRunner } from '../gpu-service/src/inference/onnx-runner.js';
import { postprocessItem } from '../gpu-service/src/pipeline/batch-executor.js';
import { imagingParts } from '../gpu-service/src/pipeline/imaging-parts.js';
import { loadTokenizer } from '../gpu-service/src/tokenizer/index.js';
import { REPO_ROOT, defaultTestBundle } from '../test/helpers/service-process.js';
import { scene } from './load.js';
import { ensurePeerVenv } from './peer-service.js';
import { stagesChartSvg, type StageRow } from './stages-chart.js';

const BUNDLE = process.env.CRIS_BENCH_BUNDLE ?? defaultTestBundle();
const ITERATIONS = Number(process.env.CRIS_BENCH_ITERATIONS ?? 200);
const SCENES = 16;
const OUT_DIR = join(REPO_ROOT, '.cache', 'bench-stages');
const started = performance.now();

function log(message: string): void {
  process.stderr.write(`[stages ${((performance.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

/** CPU ms of this process per call of `run(i)`, after a warm-up. */
async function cpuMsPerCall(run: (i: number) => Promise<unknown> | unknown, count = ITERATIONS): Promise<number> {
  for (let i = 0; i < Math.min(10, count); i++) await run(i);
  const before = cpuUsage();
  for (let i = 0; i < count; i++) await run(i);
  const used = cpuUsage(before);
  return (used.user + used.system) / 1000 / count;
}

type Costs = Record<string, number>;

async function ourStages(): Promise<() => Promise<Costs>> {
  const bundle = await readBundle(BUNDLE);
  const tokenizer = await loadTokenizer(bundle);
  const runner = await createOnnxRunner(bundle, { provider: 'cpu', threads: 1, spinning: false });
  const parts = imagingParts(bundle.manifest.input);
  const { size } = bundle.manifest.input;
  const pngs = await Promise.all(Array.from({ length: SCENES }, (_, i) => scene(i + 1)));
  const jpegs = await Promise.all(Array.from({ length: SCENES }, (_, i) => scene(i + 1, 480, 360, 'jpeg')));
  const texts = pngs.map((_, i) => `the ${i % 2 ? 'round' : 'square'} shape`);
  writeInputs(pngs, jpegs, texts);
  const prepared: PreparedImage[] = [];
  for (const png of pngs) prepared.push(await parts.prepare(png.slice()));
  const tokens = texts.map((text) => tokenizer.tokenize([text], bundle.manifest.text.word_len)); // [1, L] each
  const features = await Promise.all(prepared.map(async (p) => (await runner.encodeImages(p.tensor, 1))[0]));
  const logits = await Promise.all(features.map(async (f, i) => (await runner.runHead([f], tokens[i])).logits));
  const imageSize = 3 * size * size;
  const batch8 = new Float32Array(8 * imageSize); // [8, 3, S, S]
  prepared.slice(0, 8).forEach((p, row) => batch8.set(p.tensor, row * imageSize));
  const tokens8 = new BigInt64Array(8 * tokens[0].length); // [8, L]
  tokens.slice(0, 8).forEach((t, row) => tokens8.set(t, row * t.length));
  const features8 = await runner.encodeImages(batch8, 8);
  const post = (format: 'rle' | 'polygon') => (i: number) =>
    postprocessItem(parts, {
      logits: logits[i % SCENES].slice(),
      presence: null,
      phraseCount: 1,
      transform: prepared[i % SCENES].transform,
      threshold: bundle.manifest.output.threshold,
      presenceThreshold: 0,
      formats: [format],
    });
  // V8 tiers the WebAssembly JPEG decoder up over its first few hundred calls (a running service's
  // imaging thread is long past them): warmed up once here, not in every round's ten calls.
  for (let i = 0; i < 400; i++) await decodeForNetwork(jpegs[i % SCENES], size);
  return async () => ({
    decode_png: await cpuMsPerCall((i) => decodeForNetwork(pngs[i % SCENES], size)),
    decode_jpeg: await cpuMsPerCall((i) => decodeForNetwork(jpegs[i % SCENES], size)),
    prepare_png: await cpuMsPerCall((i) => parts.prepare(pngs[i % SCENES].slice())),
    prepare_jpeg: await cpuMsPerCall((i) => parts.prepare(jpegs[i % SCENES].slice())),
    encoder_b1: await cpuMsPerCall((i) => runner.encodeImages(prepared[i % SCENES].tensor, 1)),
    head_b1: await cpuMsPerCall((i) => runner.runHead([features[i % SCENES]], tokens[i % SCENES])),
    encoder_b8_per_image: (await cpuMsPerCall(() => runner.encodeImages(batch8, 8), Math.ceil(ITERATIONS / 8))) / 8,
    head_b8_per_row: (await cpuMsPerCall(() => runner.runHead(features8, tokens8), Math.ceil(ITERATIONS / 8))) / 8,
    postprocess_rle: await cpuMsPerCall(post('rle')),
    postprocess_polygon: await cpuMsPerCall(post('polygon')),
  });
}

/** The scenes and phrases as files for the peer's script. */
function writeInputs(pngs: Uint8Array[], jpegs: Uint8Array[], texts: string[]): void {
  mkdirSync(OUT_DIR, { recursive: true });
  pngs.forEach((png, i) => writeFileSync(join(OUT_DIR, `${i}.png`), png));
  jpegs.forEach((jpeg, i) => writeFileSync(join(OUT_DIR, `${i}.jpg`), jpeg));
  writeFileSync(join(OUT_DIR, 'texts.json'), JSON.stringify(texts));
}

function peerStages(): Costs {
  const python = join(REPO_ROOT, '.cache', 'peer-venv', 'bin', 'python');
  const output = execFileSync(python, [join(REPO_ROOT, 'bench', 'peer', 'stages.py'), OUT_DIR, String(ITERATIONS)], {
    cwd: REPO_ROOT,
    env: { ...process.env, PEER_BUNDLE: BUNDLE, PEER_THREADS: '1', OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').at(-1)!) as Costs;
}

const LABELS: Record<string, string> = {
  decode_png: 'decode, PNG',
  decode_jpeg: 'decode, JPEG',
  prepare_png: 'decode + letterbox + normalise, PNG',
  prepare_jpeg: 'decode + letterbox + normalise, JPEG',
  encoder_b1: 'image encoder, batch 1',
  encoder_b8_per_image: 'image encoder, per image of a batch of 8',
  head_b1: 'head, batch 1',
  head_b8_per_row: 'head, per row of a batch of 8',
  postprocess_rle: 'post-processing, one phrase, RLE',
  postprocess_polygon: 'post-processing, one phrase, polygons',
};

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

async function main(): Promise<void> {
  log(`bundle ${BUNDLE.replace(REPO_ROOT + '/', '')}, ${ITERATIONS} calls per stage, 1 intra-op thread each`);
  ensurePeerVenv(log);
  const loadAtStart = loadavg()[0];
  const measureOurs = await ourStages();
  const rounds: { ours: Costs[]; peer: Costs[] } = { ours: [], peer: [] };
  for (const side of ['ours', 'peer', 'peer', 'ours'] as const) {
    log(`${side}, round ${rounds[side].length + 1} (load ${loadavg()[0].toFixed(1)})`);
    rounds[side].push(side === 'ours' ? await measureOurs() : peerStages());
  }
  const rows: StageRow[] = Object.keys(LABELS).map((key) => {
    const peer = rounds.peer.every((r) => key in r) ? mean(rounds.peer.map((r) => r[key])) : null;
    return { key, label: LABELS[key], ours: mean(rounds.ours.map((r) => r[key])), peer };
  });
  const cell = (v: number | null) => (v === null ? '—' : v.toFixed(2)).padStart(8);
  const lines = [
    `CPU ms per call, ours vs the peer (bench/peer/app.py) — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end, rounds ours, peer, peer, ours`,
    '',
    '| stage                                      |   ours   |   peer   | ours/peer |',
    '|--------------------------------------------|----------|----------|-----------|',
    ...rows.map((r) => `| ${r.label.padEnd(42)} | ${cell(r.ours)} | ${cell(r.peer)} | ${(r.peer ? (r.ours / r.peer).toFixed(2) + 'x' : '—').padStart(9)} |`),
    '',
    '— : the peer has no such stage (it does not batch, it offers no polygons).',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const png = join(REPO_ROOT, '.cache', 'bench-stages.png');
  await sharp(Buffer.from(stagesChartSvg(rows, lines[0]))).png().toFile(png);
  writeFileSync(png.replace(/\.png$/, '.txt'), lines.join('\n') + '\n');
  log(`chart written to ${png}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:stages failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
