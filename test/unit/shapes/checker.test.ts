import { describe, expect, it } from 'vitest';
import { parseSentence, referents } from '../../../models/shapes/checker.js';
import type { ObjectFacts } from '../../../models/shapes/scene.js';

const size = { width: 400, height: 200 };
const obj = (index: number, shape: ObjectFacts['shape'], colour: ObjectFacts['colour'], area: number, cx: number, cy: number): ObjectFacts => ({
  index, shape, colour, area, cx, cy,
});

describe('checker', () => {
  const scene = [
    obj(0, 'circle', 'red', 1000, 50, 100),
    obj(1, 'circle', 'blue', 600, 200, 100),
    obj(2, 'star', 'red', 300, 330, 40),
  ];

  it('resolves attributes, and refuses ambiguous ones', () => {
    expect(referents('the star', scene, size)).toEqual([2]);
    expect(referents('The blue one.', scene, size)).toEqual([1]);
    expect(referents('the red shape', scene, size)).toEqual([0, 2]);
    expect(referents('the circle', scene, size)).toEqual([0, 1]);
  });

  it('SIZE needs 1.5x in area against every other matching object', () => {
    expect(referents('the big circle', scene, size)).toEqual([0]); // 1000 >= 1.5 * 600
    expect(referents('the small circle', scene, size)).toEqual([1]); // 600 * 1.5 <= 1000
    const close = [obj(0, 'circle', 'red', 1000, 50, 100), obj(1, 'circle', 'red', 700, 200, 100)];
    expect(referents('the big circle', close, size)).toEqual([]);
    expect(referents('the smallest shape', scene, size)).toEqual([2]);
  });

  it('LOCATION and superlatives need a 10 % margin on their axis', () => {
    expect(referents('the circle on the left', scene, size)).toEqual([0]);
    expect(referents('the rightmost red shape', scene, size)).toEqual([2]);
    expect(referents('the topmost shape', scene, size)).toEqual([2]);
    const near = [obj(0, 'circle', 'red', 500, 100, 100), obj(1, 'circle', 'red', 500, 135, 100)]; // 35 < 40
    expect(referents('the circle on the left', near, size)).toEqual([]);
    expect(referents('the leftmost circle', near, size)).toEqual([]);
  });

  it('relations: the nearest matching object in that direction from a unique anchor', () => {
    expect(referents('the circle left of the star', scene, size)).toEqual([1]);
    expect(referents('the red one left of the blue circle', scene, size)).toEqual([0]);
    expect(referents('the circle right of the circle', scene, size)).toEqual([]); // anchor not unique
  });

  it('refuses sentences outside the grammar', () => {
    expect(() => parseSentence('the red  circle')).toThrow();
    expect(() => parseSentence('the red circle in the middle')).toThrow();
    expect(() => parseSentence('the big circle on the left')).toThrow();
    expect(() => parseSentence('the circle left of red circle')).toThrow();
  });
});
