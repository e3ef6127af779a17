/** Writes a referring-shapes dataset folder: refs.jsonl + images/ + masks/ (REFERRING_SHAPES.md). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { createRng, type Rng } from './prng.js';
import { objectMask } from './raster.js';
import { referringExpressions, type Expression } from './refer.js';
import { renderScene, sampleScene, type RenderedScene } from './scene.js';

export type Split = 'train' | 'val' | 'test';
const SPLIT_STREAM: Record<Split, number> = { train: 1, val: 2, test: 3 };

export interface RefRecord {
  id: string;
  image: string;
  mask: string;
  sentences: string[];
  /** Parallel to sentences: attribute | size | location | superlative | relation. */
  kinds: string[];
}

export interface GeneratedTarget {
  rendered: RenderedScene;
  target: number;
  expressions: Expression[];
}

export const MAX_TARGETS_PER_SCENE = 3;
export const MAX_SENTENCES_PER_TARGET = 3;

/** Targets of one scene: objects with at least one unique expression, at most MAX_TARGETS_PER_SCENE. */
export function sceneTargets(rng: Rng): GeneratedTarget[] {
  const rendered = renderScene(sampleScene(rng));
  const size = { width: rendered.scene.width, height: rendered.scene.height };
  const order = rendered.facts.map((f) => f.index);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out: GeneratedTarget[] = [];
  for (const target of order) {
    if (out.length >= MAX_TARGETS_PER_SCENE) break;
    const expressions = referringExpressions(rendered.facts[target], rendered.facts, size, rng, MAX_SENTENCES_PER_TARGET);
    if (expressions.length > 0) out.push({ rendered, target, expressions });
  }
  return out;
}

/** Deterministic scene stream for (seed, split): yields targets until stopped. */
export function* targetStream(seed: number, split: Split): Generator<GeneratedTarget & { sceneIndex: number }> {
  const rng = createRng(seed, SPLIT_STREAM[split]);
  for (let sceneIndex = 0; ; sceneIndex++) {
    for (const t of sceneTargets(rng)) yield { ...t, sceneIndex };
  }
}

export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export function encodeMaskPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(mask, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export interface WriteOptions {
  out: string;
  n: number;
  seed: number;
  split: Split;
  onProgress?: (done: number, total: number) => void;
  /** Receives every target written (for previews). */
  onTarget?: (t: GeneratedTarget, record: RefRecord) => void;
}

/** Writes n targets; returns the records. Same options, same bytes. */
export async function writeDataset(opts: WriteOptions): Promise<RefRecord[]> {
  await mkdir(join(opts.out, 'images'), { recursive: true });
  await mkdir(join(opts.out, 'masks'), { recursive: true });
  const records: RefRecord[] = [];
  let lastScene = -1;
  for (const t of targetStream(opts.seed, opts.split)) {
    if (records.length >= opts.n) break;
    const { width, height } = t.rendered.scene;
    const stem = String(t.sceneIndex).padStart(6, '0');
    const image = `images/${stem}.png`;
    const mask = `masks/${stem}_${t.target}.png`;
    if (t.sceneIndex !== lastScene) {
      await writeFile(join(opts.out, image), await encodeRgbPng(t.rendered.rgb, width, height));
      lastScene = t.sceneIndex;
    }
    await writeFile(join(opts.out, mask), await encodeMaskPng(objectMask(t.rendered.labels, t.target), width, height));
    const record: RefRecord = {
      id: `${opts.split}-${stem}-${t.target}`,
      image,
      mask,
      sentences: t.expressions.map((e) => e.sentence),
      kinds: t.expressions.map((e) => e.kind),
    };
    records.push(record);
    opts.onTarget?.(t, record);
    opts.onProgress?.(records.length, opts.n);
  }
  await writeFile(join(opts.out, 'refs.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await writeFile(
    join(opts.out, 'dataset.json'),
    JSON.stringify({ task: 'referring-shapes-v1', seed: opts.seed, split: opts.split, targets: records.length }, null, 2) + '\n',
  );
  return records;
}
