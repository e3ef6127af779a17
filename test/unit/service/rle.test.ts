import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { RleMaskSchema, PngMaskSchema, PolygonMaskSchema } from '../../../contract/segment.js';
import { decodeRle, encodeMask, encodeRle, maskToPng, maskToRuns, stringToRuns, thresholdMask } from '../../../gpu-service/src/masks/index.js';

/** Row-major [height, width] mask from rows of 0/1. */
const fromRows = (rows: number[][]) => Uint8Array.from(rows.flat());

describe('COCO RLE', () => {
  // Expected strings worked out by hand from pycocotools maskApi.c (rleToString): column-major
  // runs starting with zeros; 5-bit groups + 48, 0x20 = more, 0x10 = sign; runs i > 2 stored as
  // the difference to run i - 2.
  it.each([
    ['simple runs', [[0, 1, 0], [1, 1, 0]], 2, 3, [1, 3, 2], '132'],
    ['starts with ones', [[1, 1], [1, 1]], 2, 2, [0, 4], '04'],
    ['one long run (100 = 4 + 3*32)', Array.from({ length: 10 }, () => Array(10).fill(0)), 10, 10, [100], 'T3'],
  ])('%s', (_name, rows, height, width, runs, counts) => {
    const mask = fromRows(rows as number[][]);
    expect(maskToRuns(mask, width as number, height as number)).toEqual(runs);
    expect(encodeRle(mask, width as number, height as number)).toEqual({ size: [height, width], counts });
    expect(decodeRle({ size: [height as number, width as number], counts: counts as string })).toEqual(mask);
  });

  it('stores the fourth run on as a (possibly negative) difference to the run two before', () => {
    // 6x3 column-major: 5 zeros, 2 ones, 10 zeros, 1 one. Run 3: 1 - 2 = -1 -> 31 + 48 = 'O'.
    const col = (bits: number[]) => bits;
    const columns = [col([0, 0, 0, 0, 0, 1]), col([1, 0, 0, 0, 0, 0]), col([0, 0, 0, 0, 0, 1])];
    const mask = new Uint8Array(18);
    columns.forEach((bits, x) => bits.forEach((b, y) => (mask[y * 3 + x] = b)));
    expect(maskToRuns(mask, 3, 6)).toEqual([5, 2, 10, 1]);
    expect(encodeRle(mask, 3, 6).counts).toBe('52:O');
    // Two groups with sign: runs [0, 100, 3, 40] -> 40 - 100 = -60 -> 'T' (4 | more), 'N' (30, sign).
    expect(stringToRuns('0T33TN')).toEqual([0, 100, 3, 40]);
  });

  it('round-trips random masks of odd sizes', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [w, h] of [[1, 1], [1, 37], [53, 1], [64, 48], [101, 77]]) {
      const mask = new Uint8Array(w * h);
      let v = 0;
      for (let i = 0; i < mask.length; i++) {
        if (rand() < 0.08) v ^= 1;
        mask[i] = v;
      }
      const rle = encodeRle(mask, w, h);
      expect(decodeRle(rle)).toEqual(mask);
      expect(RleMaskSchema.safeParse({ format: 'rle', ...rle }).success).toBe(true);
    }
  });

  it('refuses strings whose runs do not fill the mask', () => {
    expect(() => decodeRle({ size: [2, 2], counts: '12' })).toThrow();
    expect(() => decodeRle({ size: [2, 2], counts: '05' })).toThrow();
  });
});

describe('PNG and encodeMask', () => {
  it('writes a single-channel 255/0 PNG of the mask size', async () => {
    const mask = fromRows([[0, 1, 1], [0, 0, 1]]);
    const png = await maskToPng(mask, 3, 2);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height, meta.channels, meta.format]).toEqual([3, 2, 1, 'png']);
    const { data } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(data)).toEqual([0, 255, 255, 0, 0, 255]);
  });

  it('encodes a PhraseMask in each public format', async () => {
    const prob = new Float32Array(40 * 30);
    for (let y = 5; y < 20; y++) for (let x = 10; x < 30; x++) prob[y * 40 + x] = 0.9;
    const phrase = thresholdMask(prob, 40, 30, 0.35);
    const rle = await encodeMask(phrase, 'rle');
    expect(RleMaskSchema.parse(rle)).toBeTruthy();
    if (rle.format === 'rle') expect(decodeRle(rle)).toEqual(phrase.mask);
    const png = await encodeMask(phrase, 'png');
    expect(PngMaskSchema.parse(png)).toBeTruthy();
    const polygon = await encodeMask(phrase, 'polygon');
    expect(PolygonMaskSchema.parse(polygon)).toBeTruthy();
  });
});
