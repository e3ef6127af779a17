import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { referents } from '../../../models/shapes/checker.js';
import { COLOUR_SPECS, HUE_TOLERANCE, hueDistance, rgbToHsv } from '../../../models/shapes/colour.js';
import { targetStream, writeDataset, type RefRecord } from '../../../models/shapes/dataset.js';
import { createRng } from '../../../models/shapes/prng.js';
import { rasteriseShape, shapeBounds } from '../../../models/shapes/raster.js';
import { renderScene, sampleScene } from '../../../models/shapes/scene.js';
import { KINDS } from '../../../models/shapes/vocab.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shapes-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const sub of ['', 'images', 'masks']) {
    for (const name of await readdir(join(dir, sub), { withFileTypes: true })) {
      if (name.isFile()) out.set(join(sub, name.name), await readFile(join(dir, sub, name.name)));
    }
  }
  return out;
}

function readRefs(text: string): RefRecord[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as RefRecord);
}

// The shared 2-core machine can be heavily loaded: generous time limits, small sizes.
describe('dataset writer', { timeout: 180_000 }, () => {
  it('writes the same bytes for the same seed, other data for another seed', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    await writeDataset({ out: a, n: 12, seed: 7, split: 'test' });
    await writeDataset({ out: b, n: 12, seed: 7, split: 'test' });
    await writeDataset({ out: c, n: 12, seed: 8, split: 'test' });
    const [fa, fb, fc] = [await filesOf(a), await filesOf(b), await filesOf(c)];
    expect([...fa.keys()].sort()).toEqual([...fb.keys()].sort());
    for (const [name, bytes] of fa) expect(bytes.equals(fb.get(name)!), name).toBe(true);
    expect(fa.get('refs.jsonl')!.equals(fc.get('refs.jsonl')!)).toBe(false);
  });

  it('writes refs.jsonl in the page format with masks of the image size, 0/255 and non-empty', async () => {
    const dir = await tempDir();
    await writeDataset({ out: dir, n: 20, seed: 11, split: 'val' });
    const refs = readRefs(await readFile(join(dir, 'refs.jsonl'), 'utf8'));
    expect(refs).toHaveLength(20);
    for (const ref of refs) {
      expect(ref.image).toMatch(/^images\/\d{6}\.png$/);
      expect(ref.mask).toMatch(/^masks\/\d{6}_\d+\.png$/);
      expect(ref.sentences.length).toBeGreaterThan(0);
      expect(ref.kinds).toHaveLength(ref.sentences.length);
      for (const s of ref.sentences) expect(typeof s).toBe('string');
      for (const k of ref.kinds) expect(KINDS).toContain(k);
      const image = await sharp(join(dir, ref.image)).raw().toBuffer({ resolveWithObject: true });
      const mask = await sharp(join(dir, ref.mask)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
      expect(image.info.channels).toBe(3);
      expect((await sharp(join(dir, ref.mask)).metadata()).channels).toBe(1);
      expect(mask.info.channels).toBe(1);
      expect([mask.info.width, mask.info.height]).toEqual([image.info.width, image.info.height]);
      for (const side of [image.info.width, image.info.height]) {
        expect(side).toBeGreaterThanOrEqual(160);
        expect(side).toBeLessThanOrEqual(640);
      }
      const values = new Set(mask.data);
      expect([...values].every((v) => v === 0 || v === 255)).toBe(true);
      expect(values.has(255)).toBe(true);
    }
  });
});

describe('scenes and expressions', { timeout: 180_000 }, () => {
  const stream = targetStream(2024, 'train');
  const targets = Array.from({ length: 60 }, () => stream.next().value!);

  it('every expression refers to exactly its target under the checker, and all kinds occur', () => {
    const kinds = new Set<string>();
    for (const t of targets) {
      const size = { width: t.rendered.scene.width, height: t.rendered.scene.height };
      for (const e of t.expressions) {
        expect(referents(e.sentence, t.rendered.facts, size), e.sentence).toEqual([t.members[0]]);
        expect(e.sentence).toMatch(/^[A-Za-z]?[a-z]*( [a-z]+)*\.?$/);
        kinds.add(e.kind);
      }
    }
    expect([...kinds].sort()).toEqual([...KINDS].sort());
  });

  it('each target mask is exactly the visible pixels of its object, at most 30 % hidden', () => {
    for (const t of targets.slice(0, 40)) {
      const { scene, labels } = t.rendered;
      const obj = scene.objects[t.members[0]];
      const full = rasteriseShape(obj.geometry, scene.width, scene.height);
      let total = 0;
      let visible = 0;
      let outside = 0;
      for (let i = 0; i < full.length; i++) {
        if (labels[i] === t.members[0] && full[i] !== 1) outside++;
        total += full[i];
        if (full[i] && labels[i] === t.members[0]) visible++;
      }
      expect(outside).toBe(0);
      expect(visible).toBeGreaterThan(0);
      expect(1 - visible / total).toBeLessThanOrEqual(0.3);
      expect(visible).toBe(t.rendered.facts[t.members[0]].area);
    }
  });

  it('objects have 2..6 per scene, sizes within 8-35 % of the shorter side, inside the image', () => {
    const rng = createRng(99);
    for (let i = 0; i < 40; i++) {
      const scene = sampleScene(rng);
      expect(scene.objects.length).toBeGreaterThanOrEqual(2);
      expect(scene.objects.length).toBeLessThanOrEqual(6);
      const short = Math.min(scene.width, scene.height);
      for (const o of scene.objects) {
        const [x0, y0, x1, y1] = shapeBounds(o.geometry);
        const side = Math.max(x1 - x0, y1 - y0);
        expect(side / short).toBeGreaterThanOrEqual(0.08 - 1e-9);
        expect(side / short).toBeLessThanOrEqual(0.35 + 1e-9);
        expect(x0).toBeGreaterThanOrEqual(0);
        expect(y0).toBeGreaterThanOrEqual(0);
        expect(x1).toBeLessThanOrEqual(scene.width);
        expect(y1).toBeLessThanOrEqual(scene.height);
      }
    }
  });

  it('object pixels have their named colour; background pixels saturation <= 0.25', () => {
    const rng = createRng(5);
    for (let i = 0; i < 8; i++) {
      const r = renderScene(sampleScene(rng));
      for (let p = 0; p < r.labels.length; p += 13) {
        const [h, s, v] = rgbToHsv(r.rgb[3 * p], r.rgb[3 * p + 1], r.rgb[3 * p + 2]);
        const k = r.labels[p];
        if (k < 0) {
          expect(s).toBeLessThanOrEqual(0.25);
          continue;
        }
        const spec = COLOUR_SPECS[r.scene.objects[k].colour];
        expect(hueDistance(h, spec.hue)).toBeLessThanOrEqual(HUE_TOLERANCE);
        expect(s).toBeGreaterThanOrEqual(spec.satMin);
        expect(s).toBeLessThanOrEqual(spec.satMax);
        expect(v).toBeGreaterThanOrEqual(spec.valMin);
      }
    }
  });
});
