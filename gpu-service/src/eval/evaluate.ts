/**
 * Referring-segmentation evaluation, as the reference computes it (CRIS engine.inference):
 * per sentence IoU = |P∩G| / (|P∪G| + 1e-6); mIoU = mean over sentences; Pr@X = share of
 * sentences with IoU > X; plus oIoU = ΣI / ΣU (cumulative, labelled as such). Dataset reading per
 * REFERRING_SHAPES.md "Dataset files" (refs.jsonl, optional `kinds` parallel to `sentences`,
 * optional v2 `targets`; v2 metrics are in evaluate-v2.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';

export const PRECISION_THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9] as const;

export const RefRecordSchema = z
  .object({
    id: z.string().min(1),
    image: z.string().min(1),
    mask: z.string().min(1),
    sentences: z.array(z.string()).min(1),
    kinds: z.array(z.string()).optional(),
    /** v2: ground-truth members (0: no target, the mask is all zero); 1 when absent. */
    targets: z.number().int().nonnegative().optional(),
  })
  .refine((r) => !r.kinds || r.kinds.length === r.sentences.length, { message: 'kinds must be parallel to sentences', path: ['kinds'] });
export type RefRecord = z.infer<typeof RefRecordSchema>;

/** refs.jsonl of a dataset folder; throws naming the line of a bad record. */
export async function readRefs(dataDir: string): Promise<RefRecord[]> {
  const text = await readFile(join(dataDir, 'refs.jsonl'), 'utf8');
  const records: RefRecord[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`refs.jsonl line ${index + 1}: not JSON`);
    }
    const parsed = RefRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`refs.jsonl line ${index + 1}: ${issue.path.join('.') || 'record'}: ${issue.message}`);
    }
    records.push(parsed.data);
  });
  return records;
}

/** A ground-truth mask PNG (255 inside) -> row-major 0/1 with its size. */
export async function readMask(path: string): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(path).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const mask = new Uint8Array(info.width * info.height);
  for (let i = 0; i < mask.length; i++) mask[i] = data[i] > 127 ? 1 : 0;
  return { mask, width: info.width, height: info.height };
}

export interface SentenceScore {
  id: string;
  sentence: string;
  kind?: string;
  intersection: number;
  union: number;
  iou: number;
}

export function scoreMasks(pred: Uint8Array, truth: Uint8Array): { intersection: number; union: number; iou: number } {
  if (pred.length !== truth.length) throw new Error(`mask sizes differ: ${pred.length} vs ${truth.length} pixels`);
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0;
    const t = truth[i] !== 0;
    if (p && t) intersection++;
    if (p || t) union++;
  }
  return { intersection, union, iou: intersection / (union + 1e-6) };
}

export interface Metrics {
  count: number;
  mIoU: number;
  oIoU: number;
  'Pr@0.5': number;
  'Pr@0.6': number;
  'Pr@0.7': number;
  'Pr@0.8': number;
  'Pr@0.9': number;
}

export function summarise(scores: readonly SentenceScore[]): Metrics {
  const count = scores.length;
  const mean = (f: (s: SentenceScore) => number) => (count === 0 ? 0 : scores.reduce((a, s) => a + f(s), 0) / count);
  const totalI = scores.reduce((a, s) => a + s.intersection, 0);
  const totalU = scores.reduce((a, s) => a + s.union, 0);
  const metrics: Metrics = {
    count,
    mIoU: mean((s) => s.iou),
    oIoU: totalU === 0 ? 0 : totalI / totalU,
    'Pr@0.5': 0,
    'Pr@0.6': 0,
    'Pr@0.7': 0,
    'Pr@0.8': 0,
    'Pr@0.9': 0,
  };
  for (const t of PRECISION_THRESHOLDS) metrics[`Pr@${t}` as keyof Metrics] = mean((s) => (s.iou > t ? 1 : 0));
  return metrics;
}

/** Metrics per kind, when every sentence has one; undefined otherwise. */
export function summariseByKind(scores: readonly SentenceScore[]): Record<string, Metrics> | undefined {
  if (scores.length === 0 || scores.some((s) => s.kind === undefined)) return undefined;
  const groups = new Map<string, SentenceScore[]>();
  for (const s of scores) groups.set(s.kind!, [...(groups.get(s.kind!) ?? []), s]);
  return Object.fromEntries([...groups.keys()].sort().map((kind) => [kind, summarise(groups.get(kind)!)]));
}

/** Keeps the K lowest-IoU items seen (ties: the earlier one stays). */
export class WorstCases<T extends { iou: number }> {
  private readonly items: T[] = [];
  constructor(private readonly k: number) {}
  offer(item: T): void {
    if (this.k <= 0) return;
    if (this.items.length < this.k) {
      this.items.push(item);
    } else {
      const worstKept = this.items.reduce((m, it, i) => (it.iou > this.items[m].iou ? i : m), 0);
      if (item.iou >= this.items[worstKept].iou) return;
      this.items[worstKept] = item;
    }
  }
  sorted(): T[] {
    return [...this.items].sort((a, b) => a.iou - b.iou);
  }
}
