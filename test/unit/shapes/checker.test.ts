import { describe, expect, it } from 'vitest';
import { namesOnlyPresent, parseGroup, parseSentence, referents, refersToGroup, selectsNothing } from '../../../models/shapes/checker.js';
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
