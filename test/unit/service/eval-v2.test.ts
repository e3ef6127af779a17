/**
 * v2 evaluation (REFERRING_SHAPES.md, v2): the metrics on a tiny hand-made set with known answers,
 * and the eval CLI on v2 data: its JSON, and --save-predictions files that score to the same numbers.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMask, scoreMasks } from '../../../gpu-service/src/eval/evaluate.js';
import { summariseGeneralised, summariseGeneralisedByKind, type SentenceOutcome } from '../../../gpu-service/src/eval/evaluate-v2.js';
import { randomSmallBundle, REPO_ROOT } from '../../helpers/golden.js';

/** A 4x4 mask with the given pixel indices set. */
const px = (...on: number[]) => {
  const mask = new Uint8Array(16);
  for (const i of on) mask[i] = 1;
  return mask;
};

function outcome(kind: string, targets: number, pred: Uint8Array, truth: Uint8Array): SentenceOutcome {
  return { id: kind, sentence: kind, kind, targets, found: pred.some((v) => v === 1), ...scoreMasks(pred, truth) };
}

describe('v2 metrics on a hand-made set', () => {
  const outcomes = [
    outcome('attribute', 1, px(0, 1, 2, 3), px(2, 3, 4, 5)), // I 2, U 6: IoU 1/3
    outcome('attribute', 1, px(8, 9, 10, 11), px(8, 9, 10, 11)), // IoU 1
    outcome('no-target', 0, px(), px()), // answered empty: scores 1, I 0, U 0
    outcome('no-target', 0, px(0, 5, 10), px()), // answered non-empty: scores 0, I 0, U 3
    outcome('group', 2, px(0, 1, 2), px(0, 1, 2, 12, 13, 14)), // I 3, U 6: IoU 0.5
    outcome('group', 3, px(), px(0, 1, 2, 12, 13, 14)), // "not found" for a group: IoU 0, U 6
  ];

  it('gIoU, cIoU, N-acc, T-acc over all sentences; v1 metrics over single-target ones', () => {
    const m = summariseGeneralised(outcomes);
    expect(m).toMatchObject({ sentences: 6, no_target: 2, multi_target: 2 });
    expect(m.gIoU).toBeCloseTo((1 / 3 + 1 + 1 + 0 + 0.5 + 0) / 6, 5);
    expect(m.cIoU).toBeCloseTo((2 + 4 + 0 + 0 + 3 + 0) / (6 + 4 + 0 + 3 + 6 + 6), 10);
    expect(m['N-acc']).toBe(1 / 2);
    expect(m['T-acc']).toBe(3 / 4);
    expect(m.single_target.count).toBe(2);
    expect(m.single_target.mIoU).toBeCloseTo((1 / 3 + 1) / 2, 5);
    expect(m.single_target.oIoU).toBeCloseTo(6 / 10, 10);
    expect(m.single_target['Pr@0.5']).toBe(0.5);
  });

  it('by kind', () => {
    const byKind = summariseGeneralisedByKind(outcomes)!;
    expect(Object.keys(byKind)).toEqual(['attribute', 'group', 'no-target']);
    expect(byKind.group.gIoU).toBeCloseTo(0.25, 5);
    expect(byKind.group['T-acc']).toBe(0.5);
    expect(byKind.group['N-acc']).toBeNull();
    expect(byKind.group.single_target.count).toBe(0);
    expect(byKind['no-target']).toMatchObject({ gIoU: 0.5, 'N-acc': 0.5, 'T-acc': null });
    expect(byKind['no-target'].cIoU).toBe(0);
    expect(byKind.attribute.single_target.mIoU).toBeCloseTo(2 / 3, 5);
    expect(summariseGeneralised([outcome('no-target', 0, px(), px())]).cIoU).toBe(1); // nothing to get wrong
  });
});

describe('eval CLI on v2 data', () => {
  let dataDir: string;
  let bundleDir: string;
  const records = [
    { id: 'one', targets: 1, sentences: ['the red square', 'red one'], kinds: ['attribute', 'attribute'], box: [30, 20, 110, 90] },
    { id: 'none', targets: 0, sentences: ['the purple star'], kinds: ['no-target'], box: null },
    { id: 'both', targets: 2, sentences: ['both squares'], kinds: ['group'], box: [10, 10, 60, 60] },
  ];
  const [W, H] = [200, 160];

  beforeAll(async () => {
    bundleDir = await randomSmallBundle();
    dataDir = mkdtempSync(join(tmpdir(), 'eval-v2-'));
    mkdirSync(join(dataDir, 'images'));
    mkdirSync(join(dataDir, 'masks'));
    const lines: string[] = [];
    for (const [n, r] of records.entries()) {
      const rgb = new Uint8Array(W * H * 3).fill(200);
      const mask = new Uint8Array(W * H);
      if (r.box) {
        const [x0, y0, x1, y1] = r.box;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) (rgb.set([220, 30, 30], (y * W + x) * 3), (mask[y * W + x] = 255));
      }
      await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(dataDir, 'images', `${n}.png`));
      await sharp(mask, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(join(dataDir, 'masks', `${n}.png`));
      const { box: _box, ...record } = r;
      lines.push(JSON.stringify({ ...record, image: `images/${n}.png`, mask: `masks/${n}.png` }));
    }
    writeFileSync(join(dataDir, 'refs.jsonl'), lines.join('\n') + '\n');
  }, 600_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('--json gives the v2 metrics; --save-predictions writes files that score to the same numbers', async () => {
    const out = join(dataDir, 'predictions');
    const { stdout } = await promisify(execFile)(
      join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      ['gpu-service/src/eval/cli.ts', '--data', dataDir, '--model', bundleDir, '--provider', 'cpu', '--threads', '1', '--json', '--save-predictions', out],
      { cwd: REPO_ROOT, maxBuffer: 16 << 20 },
    );
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(['sentences', 'no_target', 'multi_target', 'gIoU', 'cIoU', 'N-acc', 'T-acc', 'single_target', 'by_kind']);
    expect(result).toMatchObject({ sentences: 4, no_target: 1, multi_target: 1, single_target: { count: 2 } });
    expect(Object.keys(result.by_kind)).toEqual(['attribute', 'group', 'no-target']);

    const lines = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.id, l.sentence, l.text])).toEqual([
      ['one', 0, 'the red square'],
      ['one', 1, 'red one'],
      ['none', 0, 'the purple star'],
      ['both', 0, 'both squares'],
    ]);
    const outcomes: SentenceOutcome[] = [];
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['id', 'sentence', 'text', 'found', 'mask']);
      const n = records.findIndex((r) => r.id === line.id);
      const meta = await sharp(join(out, line.mask)).metadata();
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', W, H, 1]);
      const pred = await readMask(join(out, line.mask));
      const truth = await readMask(join(dataDir, 'masks', `${n}.png`));
      expect(line.found).toBe(pred.mask.some((v) => v === 1));
      outcomes.push({ id: line.id, sentence: line.text, kind: records[n].kinds[line.sentence], targets: records[n].targets, found: line.found, ...scoreMasks(pred.mask, truth.mask) });
    }
    const rescored = summariseGeneralised(outcomes);
    for (const key of ['gIoU', 'cIoU', 'N-acc', 'T-acc'] as const) expect(result[key]).toBeCloseTo(rescored[key] ?? NaN, 9);
    expect(result.single_target.mIoU).toBeCloseTo(rescored.single_target.mIoU, 9);
  }, 240_000);
});
