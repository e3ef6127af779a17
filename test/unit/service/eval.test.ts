import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalPipeline } from '../../../gpu-service/src/pipeline/local.js';
import { readMask, scoreMasks, summarise, summariseByKind, WorstCases } from '../../../gpu-service/src/eval/evaluate.js';
import { randomSmallBundle, REPO_ROOT } from '../../helpers/golden.js';

const run = promisify(execFile);
const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const KEYS = ['count', 'mIoU', 'oIoU', 'Pr@0.5', 'Pr@0.6', 'Pr@0.7', 'Pr@0.8', 'Pr@0.9'];

describe('metrics as the reference computes them', () => {
  it('IoU with the 1e-6 guard, mIoU over sentences, oIoU cumulative, Pr@X strictly above X', () => {
    const a = Uint8Array.from([1, 1, 0, 0]);
    expect(scoreMasks(a, a).iou).toBeCloseTo(1, 5);
    expect(scoreMasks(Uint8Array.from([1, 1, 1, 0]), Uint8Array.from([0, 1, 1, 1]))).toMatchObject({ intersection: 2, union: 4 });
    expect(scoreMasks(new Uint8Array(4), new Uint8Array(4)).iou).toBe(0);
    const scores = [
      { id: 'a', sentence: 's1', kind: 'attribute', intersection: 10, union: 10, iou: 1 },
      { id: 'a', sentence: 's2', kind: 'attribute', intersection: 6, union: 10, iou: 0.6 },
      { id: 'b', sentence: 's3', kind: 'relation', intersection: 0, union: 80, iou: 0 },
    ];
    const m = summarise(scores);
    expect(Object.keys(m)).toEqual(KEYS);
    expect(m.count).toBe(3);
    expect(m.mIoU).toBeCloseTo(1.6 / 3, 10);
    expect(m.oIoU).toBeCloseTo(16 / 100, 10);
    expect(m['Pr@0.5']).toBeCloseTo(2 / 3, 10);
    expect(m['Pr@0.6']).toBeCloseTo(1 / 3, 10); // 0.6 is not > 0.6
    expect(m['Pr@0.9']).toBeCloseTo(1 / 3, 10);
    const byKind = summariseByKind(scores)!;
    expect(Object.keys(byKind)).toEqual(['attribute', 'relation']);
    expect(byKind.attribute.mIoU).toBeCloseTo(0.8, 10);
    expect(summariseByKind(scores.map(({ kind: _k, ...s }) => s))).toBeUndefined();
  });

  it('keeps the K worst cases', () => {
    const worst = new WorstCases<{ iou: number; n: number }>(2);
    [0.9, 0.1, 0.5, 0.05, 0.7].forEach((iou, n) => worst.offer({ iou, n }));
    expect(worst.sorted().map((w) => w.n)).toEqual([3, 1]);
  });
});

describe('eval CLI on a tiny dataset', () => {
  let dataDir: string;
  let bundleDir: string;
  const sentences = [
    ['the red square', 'red one'],
    ['the blue circle'],
    ['the green square on the left', 'green shape', 'the left one'],
  ];
  const kinds = [['attribute', 'attribute'], ['attribute'], ['location', 'attribute', 'location']];

  beforeAll(async () => {
    bundleDir = await randomSmallBundle();
    dataDir = mkdtempSync(join(tmpdir(), 'eval-data-'));
    mkdirSync(join(dataDir, 'images'));
    mkdirSync(join(dataDir, 'masks'));
    const lines: string[] = [];
    for (let n = 0; n < 3; n++) {
      const [w, h] = [[200, 160], [240, 180], [180, 260]][n];
      const rgb = new Uint8Array(w * h * 3).fill(200);
      const mask = new Uint8Array(w * h);
      for (let y = 20 + n * 10; y < 90 + n * 10; y++) {
        for (let x = 30; x < 110; x++) {
          rgb.set([[220, 30, 30], [30, 60, 220], [30, 200, 60]][n], (y * w + x) * 3);
          mask[y * w + x] = 255;
        }
      }
      await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dataDir, 'images', `${n}.png`));
      await sharp(mask, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toFile(join(dataDir, 'masks', `${n}.png`));
      lines.push(JSON.stringify({ id: `t${n}`, image: `images/${n}.png`, mask: `masks/${n}.png`, sentences: sentences[n], kinds: kinds[n] }));
    }
    writeFileSync(join(dataDir, 'refs.jsonl'), lines.join('\n') + '\n');
  }, 600_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const evalCli = (...args: string[]) =>
    run(tsx, ['gpu-service/src/eval/cli.ts', '--data', dataDir, '--model', bundleDir, '--provider', 'cpu', '--threads', '1', ...args], {
      cwd: REPO_ROOT,
      maxBuffer: 16 << 20,
    });

  it('--json prints exactly one object with the required keys, equal to the engine run by hand', async () => {
    const { stdout, stderr } = await evalCli('--json');
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual([...KEYS, 'by_kind']);
    expect(result.count).toBe(6);
    for (const key of KEYS.slice(1)) {
      expect(result[key]).toBeGreaterThanOrEqual(0);
      expect(result[key]).toBeLessThanOrEqual(1);
    }
    expect(Object.keys(result.by_kind)).toEqual(['attribute', 'location']);
    expect(result.by_kind.attribute.count + result.by_kind.location.count).toBe(6);
    expect(stderr).toMatch(/ETA/);

    // The same numbers from the engine directly.
    const engine = await createLocalPipeline({ bundleDir, provider: 'cpu', threads: 1 });
    const ious: number[] = [];
    for (let n = 0; n < 3; n++) {
      const truth = await readMask(join(dataDir, 'masks', `${n}.png`));
      const out = await engine.predict(readFileSync(join(dataDir, 'images', `${n}.png`)), sentences[n]);
      for (const m of out.masks) ious.push(scoreMasks(m.mask, truth.mask).iou);
    }
    await engine.close();
    expect(result.mIoU).toBeCloseTo(ious.reduce((a, b) => a + b, 0) / ious.length, 9);
  }, 240_000);

  it('--limit, --threshold, the table and worst-case overlays', async () => {
    const overlayDir = join(dataDir, 'overlays');
    const plot = join(dataDir, 'summary.png');
    const { stdout } = await evalCli('--limit', '2', '--threshold', '0.5', '--worst', '2', '--overlay-dir', overlayDir, '--plot', plot);
    expect((await sharp(plot).metadata()).format).toBe('png');
    expect(stdout).toMatch(/mIoU/);
    expect(stdout).toMatch(/^all\s+3\s/m);
    const files = readdirSync(overlayDir).sort();
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(2);
    const index = JSON.parse(readFileSync(join(overlayDir, 'index.json'), 'utf8'));
    expect(index[0].iou).toBeLessThanOrEqual(index[1].iou);
    const meta = await sharp(join(overlayDir, index[0].file)).metadata();
    expect(meta.format).toBe('png');
    expect(existsSync(join(overlayDir, files[0]))).toBe(true);
  }, 240_000);

  it('fails clearly on a bad refs line', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'eval-bad-'));
    writeFileSync(join(bad, 'refs.jsonl'), '{"id": "x", "image": "a.png", "mask": "b.png", "sentences": ["a"], "kinds": ["k", "l"]}\n');
    await expect(run(tsx, ['gpu-service/src/eval/cli.ts', '--data', bad, '--model', bundleDir, '--json'], { cwd: REPO_ROOT })).rejects.toMatchObject({
      stderr: expect.stringMatching(/refs\.jsonl line 1: kinds: kinds must be parallel to sentences/),
    });
    rmSync(bad, { recursive: true, force: true });
  }, 120_000);
});
