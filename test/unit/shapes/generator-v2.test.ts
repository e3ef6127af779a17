import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { namesOnlyPresent, parseGroup, referents, refersToGroup, selectsNothing } from '../../../models/shapes/checker.js';
import { targetStream, writeDataset, type RefRecord } from '../../../models/shapes/dataset.js';
import type { ObjectFacts } from '../../../models/shapes/scene.js';
import { KINDS, V2_KINDS } from '../../../models/shapes/vocab.js';

const size = { width: 400, height: 200 };
const obj = (index: number, shape: ObjectFacts['shape'], colour: ObjectFacts['colour'], area: number, cx: number, cy: number): ObjectFacts => ({
  index, shape, colour, area, cx, cy,
});

describe('checker, v2 rules', () => {
  const scene = [
    obj(0, 'circle', 'red', 1000, 50, 100),
    obj(1, 'circle', 'blue', 600, 120, 60),
    obj(2, 'star', 'red', 300, 330, 40),
    obj(3, 'circle', 'red', 900, 300, 150),
  ];

  it('a group phrase names every object matching the rest of it, two or more', () => {
    expect(referents('all the circles', scene, size)).toEqual([0, 1, 3]);
    expect(referents('All red shapes.', scene, size)).toEqual([0, 2, 3]);
    expect(referents('the three circles', scene, size)).toEqual([0, 1, 3]);
    expect(referents('both red circles', scene, size)).toEqual([0, 3]);
    expect(referents('the two red circles', scene, size)).toEqual([0, 3]);
    expect(referents('all the stars', scene, size)).toEqual([]); // one star: not a group
  });

  it('"both", "two" and "three" only for exactly that many members', () => {
    expect(referents('both circles', scene, size)).toEqual([]); // three circles
    expect(referents('the two circles', scene, size)).toEqual([]);
    expect(referents('the three red circles', scene, size)).toEqual([]);
  });

  it('LOCATION-HALF: the centre in that half by 10 % of the side; an object near the middle line spoils it', () => {
    expect(referents('all the circles on the left', scene, size)).toEqual([0, 1]); // 50, 120 <= 200 - 40
    expect(referents('all the red shapes on the right', scene, size)).toEqual([2, 3]);
    expect(referents('all the circles at the bottom', scene, size)).toEqual([]); // circle 0 at cy 100: on the line
    const near = [obj(0, 'circle', 'red', 500, 50, 100), obj(1, 'circle', 'red', 500, 100, 100), obj(2, 'circle', 'red', 500, 190, 100)];
    expect(referents('all the circles on the left', near, size)).toEqual([]); // 190 is within 40 of the middle
  });

  it('refuses group phrases outside the grammar', () => {
    expect(() => referents('all the circle', scene, size)).toThrow();
    expect(() => referents('both circles on the left', scene, size)).toThrow();
    expect(parseGroup('the red circle')).toBeUndefined();
    expect(refersToGroup('the red circle', scene, size, [0])).toBe(false);
  });

  it('no-target NPs select nothing; hard ones name only colours and shapes of the scene', () => {
    expect(selectsNothing('the blue star', scene, size)).toBe(true);
    expect(namesOnlyPresent('the blue star', scene)).toBe(true);
    expect(selectsNothing('the green circle', scene, size)).toBe(true);
    expect(namesOnlyPresent('the green circle', scene)).toBe(false);
    expect(selectsNothing('the hexagon', scene, size)).toBe(true);
    expect(namesOnlyPresent('the hexagon', scene)).toBe(false);
    // within 1.5x of each other: no "large" one
    const close = [obj(0, 'triangle', 'red', 1000, 50, 100), obj(1, 'triangle', 'blue', 800, 300, 100)];
    expect(selectsNothing('the large triangle', close, size)).toBe(true);
    expect(selectsNothing('the large red triangle', close, size)).toBe(false); // one red triangle: it is that one
    // a relation whose unique anchor has no matching object in that direction
    expect(selectsNothing('the star left of the blue circle', scene, size)).toBe(true);
    expect(selectsNothing('the circle left of the star', scene, size)).toBe(false); // circles are
    expect(selectsNothing('the star left of the circle', scene, size)).toBe(false); // anchor not unique
    expect(selectsNothing('the red circle', scene, size)).toBe(false); // two of them: ambiguous, not nothing
    expect(selectsNothing('all the stars', scene, size)).toBe(false); // a group phrase is no NP
  });
});

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
