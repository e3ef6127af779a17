/**
 * `npm run data:shapes -- --out DIR --n N --seed S [--split train|val|test] [--v2] [--preview FILE.png]`
 * Writes N targets of referring-shapes v1 (--v2: v2, with no-target and group targets mixed in,
 * REFERRING_SHAPES.md); progress with an ETA on stderr.
 */
import { parseArgs } from 'node:util';
import { writeDataset, type GeneratedTarget, type Split } from './dataset.js';
import { writePreview } from './preview.js';

const PREVIEW_COUNT = 12;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      n: { type: 'string' },
      seed: { type: 'string' },
      split: { type: 'string', default: 'train' },
      preview: { type: 'string' },
      v2: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.n);
  const seed = Number(values.seed);
  const split = values.split as Split;
  if (!values.out || !Number.isInteger(n) || n < 1 || !Number.isInteger(seed) || !['train', 'val', 'test'].includes(split)) {
    console.error('usage: npm run data:shapes -- --out DIR --n N --seed S [--split train|val|test] [--v2] [--preview FILE.png]');
    process.exit(2);
  }
  const started = Date.now();
  let lastReport = 0;
  const previewTargets: GeneratedTarget[] = [];
  const records = await writeDataset({
    out: values.out,
    n,
    seed,
    split,
    v2: values.v2,
    onTarget: (t) => {
      if (values.preview && previewTargets.length < PREVIEW_COUNT) previewTargets.push(t);
    },
    onProgress: (done, total) => {
      const now = Date.now();
      if (now - lastReport < 2000 && done < total) return;
      lastReport = now;
      const elapsed = (now - started) / 1000;
      const eta = (elapsed / done) * (total - done);
      process.stderr.write(`targets ${done}/${total}  ${elapsed.toFixed(0)}s elapsed  ETA ${eta.toFixed(0)}s\n`);
    },
  });
  if (values.preview) await writePreview(values.preview, previewTargets);
  const sentences = records.reduce((s, r) => s + r.sentences.length, 0);
  const byKind: Record<string, number> = {};
  for (const r of records) for (const k of r.kinds) byKind[k] = (byKind[k] ?? 0) + 1;
  console.log(JSON.stringify({ out: values.out, targets: records.length, sentences, seed, split, v2: values.v2, sentences_by_kind: byKind }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
