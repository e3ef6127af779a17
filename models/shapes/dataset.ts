/**
 * Writes a referring-shapes dataset folder: refs.jsonl + images/ + masks/ (REFERRING_SHAPES.md).
 * v2 adds no-target and group records to the same v1 records (a second random stream draws them,
 * so a v2 set holds exactly the v1 set of its seed, plus about 15 % + 15 % of the sentences).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { createRng, type Rng } from './prng.js';
import { objectMask } from './raster.js';
import { referringExpressions } from './refer.js';
import { groupExpressions, noTargetExpressions } from './refer-v2.js';
import { renderScene, sampleScene, type RenderedScene } from './scene.js';
import type { AnyKind } from './vocab.js';

export type Split = 'train' | 'val' | 'test';
const SPLIT_STREAM: Record<Split, number> = { train: 1, val: 2, test: 3 };

export interface RefRecord {
  id: string;
  image: string;
  mask: string;
  sentences: string[];
  /** Parallel to sentences: attribute | size | location | superlative | relation (v2: | no-target | group). */
  kinds: string[];
  /** v2 sets only: how many objects the sentences refer to (0, 1 or the group's size). */
  targets?: number;
}

export interface GeneratedTarget {
  rendered: RenderedScene;
  /** The objects the sentences refer to: one (v1), none (no-target) or a group's members. */
  members: number[];
  expressions: { sentence: string; kind: AnyKind }[];
}

/** v2 mix: about this share of all sentences is no-target, and as much again group. */
export const V2_SHARE = 0.15;

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
    if (expressions.length > 0) out.push({ rendered, members: [target], expressions });
  }
  return out;
}

/** Sentences so far, by what they refer to (the v2 mix is kept near V2_SHARE by these). */
interface MixCounts {
  all: number;
  none: number;
  group: number;
}

/** The v2 records of a scene: a no-target and a group record when their share is below V2_SHARE. */
function v2Records(rendered: RenderedScene, rng: Rng, counts: MixCounts): GeneratedTarget[] {
  const size = { width: rendered.scene.width, height: rendered.scene.height };
  const out: GeneratedTarget[] = [];
  if (counts.none < V2_SHARE * counts.all) {
    const expressions = noTargetExpressions(rendered.facts, size, rng, MAX_SENTENCES_PER_TARGET);
    if (expressions.length > 0) out.push({ rendered, members: [], expressions });
  }
  if (counts.group < V2_SHARE * counts.all) {
    const group = groupExpressions(rendered.facts, size, rng, MAX_SENTENCES_PER_TARGET);
    if (group && group.expressions.length > 0) out.push({ rendered, ...group });
  }
  return out;
}

/** Deterministic scene stream for (seed, split[, v2]): yields targets until stopped. */
export function* targetStream(seed: number, split: Split, v2 = false): Generator<GeneratedTarget & { sceneIndex: number }> {
  const rng = createRng(seed, SPLIT_STREAM[split]);
  const v2Rng = createRng(seed, SPLIT_STREAM[split] + 16);
  const counts: MixCounts = { all: 0, none: 0, group: 0 };
  for (let sceneIndex = 0; ; sceneIndex++) {
    const targets = sceneTargets(rng);
    if (v2 && targets.length > 0) {
      for (const t of targets) counts.all += t.expressions.length;
      for (const t of v2Records(targets[0].rendered, v2Rng, counts)) {
        counts.all += t.expressions.length;
        counts[t.members.length === 0 ? 'none' : 'group'] += t.expressions.length;
        targets.push(t);
      }
    }
    for (const t of targets) yield { ...t, sceneIndex };
  }
}

/** The mask of a record: the union of its members' visible pixels (all zero for no target). */
export function recordMask(labels: Int16Array, members: number[]): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (const m of members) {
    const one = objectMask(labels, m);
    for (let i = 0; i < out.length; i++) out[i] |= one[i];
  }
  return out;
}

function maskSuffix(members: number[]): string {
  return members.length === 0 ? 'none' : members.length === 1 ? String(members[0]) : `g${members.join('-')}`;
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
  /** referring-shapes v2: no-target and group records mixed in. */
  v2?: boolean;
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
  for (const t of targetStream(opts.seed, opts.split, opts.v2)) {
    if (records.length >= opts.n) break;
    const { width, height } = t.rendered.scene;
    const stem = String(t.sceneIndex).padStart(6, '0');
    const image = `images/${stem}.png`;
    const suffix = maskSuffix(t.members);
    const mask = `masks/${stem}_${suffix}.png`;
    if (t.sceneIndex !== lastScene) {
      await writeFile(join(opts.out, image), await encodeRgbPng(t.rendered.rgb, width, height));
      lastScene = t.sceneIndex;
    }
    await writeFile(join(opts.out, mask), await encodeMaskPng(recordMask(t.rendered.labels, t.members), width, height));
    const record: RefRecord = {
      id: `${opts.split}-${stem}-${suffix}`,
      image,
      mask,
      sentences: t.expressions.map((e) => e.sentence),
      kinds: t.expressions.map((e) => e.kind),
      ...(opts.v2 ? { targets: t.members.length } : {}),
    };
    records.push(record);
    opts.onTarget?.(t, record);
    opts.onProgress?.(records.length, opts.n);
  }
  await writeFile(join(opts.out, 'refs.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await writeFile(
    join(opts.out, 'dataset.json'),
    JSON.stringify({ task: opts.v2 ? 'referring-shapes-v2' : 'referring-shapes-v1', seed: opts.seed, split: opts.split, targets: records.length }, null, 2) + '\n',
  );
  return records;
}
