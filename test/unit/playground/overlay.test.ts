/**
 * functions/public/overlay.js (the playground's mask drawing, plain browser JavaScript): the fill
 * contrasts with the object under it whatever its colour (the old fixed blue vanished on blue
 * objects), the outline is two-tone and opaque, and only mask pixels get alpha.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/stack.js';

type Mask = { width: number; height: number; data: Uint8Array };
let overlay: {
  FILL_COLOURS: number[][];
  OUTLINE_DARK: number[];
  OUTLINE_LIGHT: number[];
  maskOverlay(mask: Mask, photo: Uint8ClampedArray): { rgba: Uint8ClampedArray; fill: number[] | null };
  distanceInside(mask: Mask): Int32Array;
};
beforeAll(async () => {
  overlay = await import(pathToFileURL(join(ROOT, 'functions', 'public', 'overlay.js')).href);
});

/** A 40x40 photo of one colour with a 20x20 square object of `colour` and its mask. */
function scene(colour: number[], background = [60, 64, 66]) {
  const [width, height] = [40, 40];
  const data = new Uint8Array(width * height);
  const photo = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= 10 && x < 30 && y >= 10 && y < 30;
      data[y * width + x] = inside ? 1 : 0;
      photo.set([...(inside ? colour : background), 255], (y * width + x) * 4);
    }
  }
  return { mask: { width, height, data }, photo };
}

describe('playground mask overlay', () => {
  it('fills every object, whatever its colour, in a colour far from it (any of the fills, and grey, black, white)', () => {
    const colours = [...overlay.FILL_COLOURS, [128, 128, 128], [0, 0, 0], [255, 255, 255], [10, 108, 255]];
    for (const colour of colours) {
      const { mask, photo } = scene(colour);
      const { fill } = overlay.maskOverlay(mask, photo);
      expect(Math.hypot(fill![0]! - colour[0]!, fill![1]! - colour[1]!, fill![2]! - colour[2]!), String(colour)).toBeGreaterThan(180);
    }
  });

  it('draws a dark ring on the edge, a white ring inside it, translucent fill within; nothing outside', () => {
    const { mask, photo } = scene([20, 60, 255]);
    const { rgba, fill } = overlay.maskOverlay(mask, photo);
    const px = (x: number, y: number) => [...rgba.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 4)];
    expect(px(10, 20)).toEqual(overlay.OUTLINE_DARK);
    expect(px(11, 20)).toEqual(overlay.OUTLINE_LIGHT);
    expect(px(20, 20).slice(0, 3)).toEqual(fill);
    expect(px(20, 20)[3]).toBeGreaterThan(100);
    expect(px(20, 20)[3]).toBeLessThan(255);
    for (let i = 0; i < mask.data.length; i++) expect(rgba[i * 4 + 3]! > 0 ? 1 : 0).toBe(mask.data[i]);
  });

  it('an empty mask draws nothing; depth counts the image border as outside', () => {
    const empty = { width: 5, height: 4, data: new Uint8Array(20) };
    expect(overlay.maskOverlay(empty, new Uint8ClampedArray(80))).toEqual({ rgba: new Uint8ClampedArray(80), fill: null });
    const full = { width: 5, height: 3, data: new Uint8Array(15).fill(1) };
    expect([...overlay.distanceInside(full)]).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1]);
  });
});
