/**
 * `npm run -s eval -- --data DIR --model models/<id> [--json] [--limit N] [--threshold T]
 *     [--presence-threshold P] [--save-predictions DIR] [--worst K --overlay-dir DIR]
 *     [--plot FILE.png] [--provider auto|cuda|webgpu|cpu] [--threads N]`
 *
 * Runs a bundle over a referring dataset (refs.jsonl) through the same pipeline the service
 * uses and reports mIoU (mean per-sentence IoU, every sentence counts), oIoU (cumulative) and
 * Pr@0.5..0.9, per kind when the data records kinds. On v2 data (records with `targets`):
 * gIoU, cIoU, N-acc, T-acc over all sentences and the v1 metrics over single-target ones
 * (evaluate-v2.ts), per kind too. --json: exactly one JSON object on stdout. --limit N: the first
 * N targets. --save-predictions DIR: DIR/predictions.jsonl and one mask PNG per sentence
 * (save-predictions.ts). Progress with an ETA goes to stderr.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalPipeline } from '../pipeline/local.js';
import {
  readMask,
  readRefs,
  scoreMasks,
  summarise,
  summariseByKind,
  WorstCases,
  type Metrics,
} from './evaluate.js';
import { generalisedIoU, generalisedTable, summariseGeneralised, summariseGeneralisedByKind, type SentenceOutcome } from './evaluate-v2.js';
import { renderOverlay } from './overlay.js';
import { PredictionWriter } from './save-predictions.js';
import { PROVIDER_CHOICES, type ProviderChoice } from '../core/types.js';
import { renderSummaryPng } from './plot.js';

const USAGE =
  'usage: eval --data DIR --model BUNDLE_DIR [--json] [--limit N] [--threshold T] [--presence-threshold P] [--save-predictions DIR] [--worst K --overlay-dir DIR] [--plot FILE.png] [--provider auto|cuda|webgpu|cpu] [--threads N]';

interface WorstCase {
  id: string;
  sentence: string;
  iou: number;
  image: string;
  predicted: Uint8Array;
  truth: Uint8Array;
  width: number;
  height: number;
}

function fail(message: string): never {
  console.error(`eval: ${message}`);
  process.exit(2);
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

function table(metrics: Metrics, byKind: Record<string, Metrics> | undefined): string {
  const columns = ['count', 'mIoU', 'oIoU', 'Pr@0.5', 'Pr@0.6', 'Pr@0.7', 'Pr@0.8', 'Pr@0.9'] as const;
  const rows: Array<[string, Metrics]> = [['all', metrics], ...Object.entries(byKind ?? {})];
  const cell = (key: (typeof columns)[number], m: Metrics) => (key === 'count' ? String(m.count) : (m[key] * 100).toFixed(2));
  const header = ['', ...columns].map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(8))).join(' ');
  const lines = rows.map(([name, m]) => [name.padEnd(12), ...columns.map((c) => cell(c, m).padStart(8))].join(' '));
  return [header, ...lines, '(IoU and Pr@X in %; oIoU = cumulative intersection / cumulative union)'].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      model: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      threshold: { type: 'string' },
      'presence-threshold': { type: 'string' },
      'save-predictions': { type: 'string' },
      worst: { type: 'string' },
      'overlay-dir': { type: 'string' },
      plot: { type: 'string' },
      provider: { type: 'string', default: 'auto' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.data || !values.model) fail(USAGE);
  const limit = values.limit === undefined ? Infinity : Number(values.limit);
  if (!(limit > 0) || (Number.isFinite(limit) && !Number.isInteger(limit))) fail('--limit must be a positive integer');
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) fail('--threshold must be in (0, 1)');
  const presenceValue = values['presence-threshold'];
  const presenceThreshold = presenceValue === undefined ? undefined : Number(presenceValue);
  if (presenceThreshold !== undefined && !(presenceThreshold >= 0 && presenceThreshold <= 1)) fail('--presence-threshold must be in [0, 1]');
  const worstK = values.worst === undefined ? 0 : Number(values.worst);
  if (!Number.isInteger(worstK) || worstK < 0) fail('--worst must be a non-negative integer');
  if (worstK > 0 && !values['overlay-dir']) fail('--worst needs --overlay-dir');
  const provider = values.provider as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider)) fail(`--provider must be one of ${PROVIDER_CHOICES.join(', ')}`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);

  const refs = (await readRefs(values.data)).slice(0, limit);
  const v2 = refs.some((ref) => ref.targets !== undefined);
  const total = refs.reduce((a, r) => a + r.sentences.length, 0);
  const engine = await createLocalPipeline({ bundleDir: values.model, provider, threads, log: (m) => console.error(`eval: ${m}`) });
  console.error(`eval: ${engine.model} on ${engine.provider}, ${refs.length} targets, ${total} sentences`);

  const scores: SentenceOutcome[] = [];
  const saved = values['save-predictions'] ? await PredictionWriter.create(values['save-predictions']) : undefined;
  const worst = new WorstCases<WorstCase>(worstK);
  const started = performance.now();
  let lastReport = 0;
  for (const [record, ref] of refs.entries()) {
    const imageBytes = await readFile(join(values.data, ref.image));
    const truth = await readMask(join(values.data, ref.mask));
    const predicted = await engine.predict(imageBytes, ref.sentences, { threshold, presence_threshold: presenceThreshold });
    if (predicted.width !== truth.width || predicted.height !== truth.height) {
      throw new Error(`${ref.id}: mask is ${truth.width}x${truth.height}, image is ${predicted.width}x${predicted.height}`);
    }
    for (const [i, sentence] of ref.sentences.entries()) {
      const score = scoreMasks(predicted.masks[i].mask, truth.mask);
      const outcome = { id: ref.id, sentence, kind: ref.kinds?.[i], targets: ref.targets ?? 1, found: predicted.masks[i].found, ...score };
      scores.push(outcome);
      await saved?.add(record, ref.id, i, sentence, predicted.masks[i]);
      worst.offer({ id: ref.id, sentence, iou: generalisedIoU(outcome), image: ref.image, predicted: predicted.masks[i].mask, truth: truth.mask, width: truth.width, height: truth.height });
    }
    const now = performance.now();
    if (now - lastReport > 2000 || scores.length === total) {
      lastReport = now;
      const elapsed = (now - started) / 1000;
      const rate = scores.length / elapsed;
      const running = v2 ? `gIoU so far ${(summariseGeneralised(scores).gIoU * 100).toFixed(2)}` : `mIoU so far ${(summarise(scores).mIoU * 100).toFixed(2)}`;
      console.error(`eval: ${scores.length}/${total} sentences, ${rate.toFixed(1)}/s, ETA ${formatDuration((total - scores.length) / rate)}, ${running}`);
    }
  }
  await engine.close();
  await saved?.close();
  if (saved) console.error(`eval: wrote ${scores.length} predictions to ${join(values['save-predictions']!, 'predictions.jsonl')}`);

  // v1 data: every sentence is single-target and the numbers are the v1 metrics, as before.
  const metrics = summarise(v2 ? scores.filter((s) => s.targets === 1) : scores);
  const byKind = v2 ? undefined : summariseByKind(scores);
  if (worstK > 0) {
    const dir = values['overlay-dir']!;
    await mkdir(dir, { recursive: true });
    const index = [];
    for (const [rank, c] of worst.sorted().entries()) {
      const file = `${String(rank + 1).padStart(3, '0')}-${c.id.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`;
      await writeFile(join(dir, file), await renderOverlay(await readFile(join(values.data, c.image)), c.predicted, c.truth, c.width, c.height));
      index.push({ rank: rank + 1, file, id: c.id, sentence: c.sentence, iou: c.iou });
    }
    await writeFile(join(dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
    console.error(`eval: wrote ${index.length} overlays (green: truth, red: prediction, yellow: both) to ${dir}`);
  }
  if (values.plot) {
    const title = `${engine.model} on ${values.data} (${metrics.count} sentences)`;
    await writeFile(values.plot, await renderSummaryPng(title, metrics, byKind));
    console.error(`eval: wrote ${values.plot}`);
  }
  const generalised = v2 ? summariseGeneralised(scores) : undefined;
  const generalisedByKind = v2 ? summariseGeneralisedByKind(scores) : undefined;
  if (values.json) {
    if (generalised) console.log(JSON.stringify(generalisedByKind ? { ...generalised, by_kind: generalisedByKind } : generalised));
    else console.log(JSON.stringify(byKind ? { ...metrics, by_kind: byKind } : metrics));
  } else {
    const settings = [threshold !== undefined ? `threshold ${threshold}` : '', presenceThreshold !== undefined ? `presence threshold ${presenceThreshold}` : ''];
    const suffix = settings.filter(Boolean).join(', ');
    console.log(`${engine.model} on ${values.data}${v2 ? ' (v2)' : ''}${suffix ? ` (${suffix})` : ''}`);
    console.log(generalised ? generalisedTable(generalised, generalisedByKind) : table(metrics, byKind));
  }
}

main().catch((error: unknown) => {
  console.error(`eval: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
