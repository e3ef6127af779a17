import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { namesOnlyPresent, referents, selectsNothing } from '../../../models/shapes/checker.js';
import { targetStream, writeDataset, type RefRecord } from '../../../models/shapes/dataset.js';
import { KINDS, V2_KINDS } from '../../../models/shapes/vocab.js';

describe('v2 generator', { timeout: 180_000 }, () => {
  const stream = targetStream(77, 'train', true);
  const targets = Array.from({ length: 90 }, () => stream.next().value!);

  it('every sentence is proved by the checker: v1 its object, no-target nothing (half of them hard), group its members', () => {
    const counts: Record<string, number> = {};
    let hard = 0;
    for (const t of targets) {
      const facts = t.rendered.facts;
      const sceneSize = { width: t.rendered.scene.width, height: t.rendered.scene.height };
      for (const e of t.expressions) {
        counts[e.kind] = (counts[e.kind] ?? 0) + 1;
        expect(e.sentence).toMatch(/^[A-Za-z]?[a-z]*( [a-z]+)*\.?$/);
        if (e.kind === 'no-target') {
          expect(t.members).toEqual([]);
          expect(selectsNothing(e.sentence, facts, sceneSize), e.sentence).toBe(true);
          if (namesOnlyPresent(e.sentence, facts)) hard++;
        } else if (e.kind === 'group') {
          expect(t.members.length).toBeGreaterThanOrEqual(2);
          expect(referents(e.sentence, facts, sceneSize).sort(), e.sentence).toEqual([...t.members].sort());
        } else {
          expect(KINDS).toContain(e.kind);
          expect(referents(e.sentence, facts, sceneSize), e.sentence).toEqual(t.members);
        }
      }
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(hard / counts['no-target']).toBeGreaterThanOrEqual(0.5);
    for (const kind of V2_KINDS) {
      expect(counts[kind] / total, kind).toBeGreaterThan(0.1);
      expect(counts[kind] / total, kind).toBeLessThan(0.2);
    }
    for (const kind of KINDS) expect(counts[kind], kind).toBeGreaterThan(0);
  });
});

describe('v2 dataset writer', { timeout: 180_000 }, () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const readRefs = async (dir: string): Promise<RefRecord[]> =>
    (await readFile(join(dir, 'refs.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as RefRecord);
  const maskOf = async (dir: string, file: string): Promise<Buffer> =>
    (await sharp(join(dir, file)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true })).data;

  it('records targets and kinds; all-zero masks for no target, the union of the members for a group; v1 records as v1', async () => {
    const [v2, v1] = [await mkdtemp(join(tmpdir(), 'shapes-v2-')), await mkdtemp(join(tmpdir(), 'shapes-v1-'))];
    dirs.push(v2, v1);
    await writeDataset({ out: v2, n: 30, seed: 21, split: 'test', v2: true });
    await writeDataset({ out: v1, n: 30, seed: 21, split: 'test' });
    const refs = await readRefs(v2);
    const stream = targetStream(21, 'test', true);
    const generated = Array.from({ length: 30 }, () => stream.next().value!);
    const seen = new Set<number>();
    for (const [i, ref] of refs.entries()) {
      const t = generated[i];
      expect(ref.targets).toBe(t.members.length);
      expect(ref.kinds).toHaveLength(ref.sentences.length);
      seen.add(Math.min(ref.targets!, 2));
      const mask = await maskOf(v2, ref.mask);
      const { labels } = t.rendered;
      const expected = Buffer.alloc(labels.length);
      for (let p = 0; p < labels.length; p++) if (t.members.includes(labels[p])) expected[p] = 255;
      expect(mask.equals(expected), ref.mask).toBe(true);
      expect(mask.includes(255)).toBe(ref.targets! > 0);
      if (ref.targets === 0) expect(ref.kinds.every((k) => k === 'no-target')).toBe(true);
      if (ref.targets! > 1) expect(ref.kinds.every((k) => k === 'group')).toBe(true);
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
    const single = refs.filter((r) => r.targets === 1).map(({ targets, ...rest }) => (void targets, rest));
    const v1Refs = await readRefs(v1);
    expect(single).toEqual(v1Refs.slice(0, single.length));
    expect(JSON.parse(await readFile(join(v2, 'dataset.json'), 'utf8')).task).toBe('referring-shapes-v2');
  });
});
