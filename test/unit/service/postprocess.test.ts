import { describe, expect, it } from 'vitest';
import { inverseLetterboxMatrix, letterboxTransform, warpAffineCubicF32 } from '../../../gpu-service/src/imaging/index.js';
import {
  logitsToPhraseMask,
  probabilityAtNetworkSize,
  thresholdMask,
} from '../../../gpu-service/src/masks/index.js';
import { probabilityOnOriginal } from '../../helpers/service-reference.js';
import { maxAbsDiff, preprocessNpy as npy, readPreprocessGolden } from '../../helpers/golden.js';

const golden = readPreprocessGolden();
const S = golden.meta.input_size;

// Tolerances: measured 3e-6 at 416 (float64 vs torch float32 arithmetic) and 2.4e-7 on the
// original (same fixed-point sampling as OpenCV, float weights); masks identical.
describe.each(golden.images.map((im) => [im.name, im] as const))('post-processing %s', (_name, im) => {
  const t = letterboxTransform(im.width, im.height, S);

  it('sigmoid + bicubic align-corners upsample matches prob416', () => {
    const prob = probabilityAtNetworkSize(npy<Float32Array>(im.name, '_logits'), S);
    expect(maxAbsDiff(prob, npy<Float32Array>(im.name, '_prob416'))).toBeLessThan(2e-5);
  });

  it('inverse letterbox matches prob_orig', () => {
    const prob = probabilityOnOriginal(npy<Float32Array>(im.name, '_prob416'), t);
    expect(maxAbsDiff(prob, npy<Float32Array>(im.name, '_prob_orig'))).toBeLessThan(2e-5);
  });

  it('the final mask has IoU >= 0.99 with the reference and consistent stats', () => {
    const result = logitsToPhraseMask(npy<Float32Array>(im.name, '_logits'), t, 0.35);
    const ref = npy<Uint8Array>(im.name, '_mask');
    let inter = 0;
    let union = 0;
    for (let i = 0; i < ref.length; i++) {
      inter += ref[i] & result.mask[i];
      union += ref[i] | result.mask[i];
    }
    expect(inter / union).toBeGreaterThanOrEqual(0.99);
    expect(result.area).toBe(result.mask.reduce((a, b) => a + b, 0));
    expect(result.score).toBeGreaterThan(0.35);
    expect(result.score).toBeLessThanOrEqual(1);
  });
});

describe('inverse letterbox warp', () => {
  it('the separable fast path equals the 2-D OpenCV-style sum', () => {
    for (const im of golden.images) {
      const t = letterboxTransform(im.width, im.height, S);
      const prob = npy<Float32Array>(im.name, '_prob416');
      const input = { src: prob, width: S, height: S, channels: 1 };
      const opts = { matrix: inverseLetterboxMatrix(t), dstWidth: im.width, dstHeight: im.height, border: [0] };
      expect(maxAbsDiff(warpAffineCubicF32(input, opts), warpAffineCubicF32(input, { ...opts, separable: false }))).toBeLessThan(1e-6);
    }
  });

  it('the 2-D path handles rotations (not axis-aligned) with the border value outside', () => {
    // 90 degree turn of a 3x2 ramp: (x, y) -> (1 - y, x) maps the source onto a 2x3 output.
    const src = Float32Array.from([0, 1, 2, 3, 4, 5]); // [2, 3]
    const out = warpAffineCubicF32({ src, width: 3, height: 2, channels: 1 }, { matrix: [0, -1, 1, 1, 0, 0], dstWidth: 2, dstHeight: 3, border: [0] });
    expect(out.length).toBe(6);
    const direct = warpAffineCubicF32({ src, width: 3, height: 2, channels: 1 }, { matrix: [1, 0, 0, 0, 1, 0], dstWidth: 3, dstHeight: 2, border: [0] });
    // The identity map reproduces the source exactly (weights 0, 1, 0, 0 at integer positions).
    expect(Array.from(direct)).toEqual([0, 1, 2, 3, 4, 5]);
    // The turn puts source (x, y) at output (1 - y, x).
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expect(out[x * 2 + (1 - y)]).toBeCloseTo(src[y * 3 + x], 5);
  });
});

describe('region-limited post-processing', () => {
  it.each([
    [4032, 3024],
    [300, 500],
    [1, 1000],
    [640, 480],
  ])('gives exactly the full-image mask on %ix%i', (width, height) => {
    const t = letterboxTransform(width, height, S);
    const G = 104;
    let seed = width * 7 + height;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const logits = new Float32Array(G * G).fill(-9);
    // A confident blob, and a ring of values just under the threshold (p ~ 0.24..0.35) around it.
    for (let y = 40; y < 60; y++) for (let x = 45; x < 70; x++) logits[y * G + x] = 4 * rand() - 0.5;
    for (let y = 30; y < 70; y++) for (let x = 35; x < 80; x++) if (logits[y * G + x] === -9 && rand() < 0.3) logits[y * G + x] = -1.1 + 0.5 * rand();
    const fast = logitsToPhraseMask(logits, t, 0.35);
    const full = thresholdMask(probabilityOnOriginal(probabilityAtNetworkSize(logits, S), t), width, height, 0.35);
    expect(fast.area).toBe(full.area);
    expect(fast.bbox).toEqual(full.bbox);
    expect(Buffer.from(fast.mask).equals(Buffer.from(full.mask))).toBe(true);
    expect(fast.score).toBeCloseTo(full.score, 6);
  });

  it('an all-background logit map gives an empty mask without warping', () => {
    const t = letterboxTransform(4032, 3024, S);
    const m = logitsToPhraseMask(new Float32Array(104 * 104).fill(-12), t, 0.35);
    expect(m).toMatchObject({ area: 0, score: 0, bbox: [0, 0, 0, 0], width: 4032, height: 3024 });
  });
});

describe('thresholdMask', () => {
  it('measures area, bbox and mean probability inside; a per-request threshold changes the mask', () => {
    // 4x3 map: [height 3, width 4]
    const prob = Float32Array.from([0.1, 0.2, 0.3, 0.1, 0.1, 0.9, 0.6, 0.1, 0.1, 0.4, 0.1, 0.1]);
    const m = thresholdMask(prob, 4, 3, 0.35);
    expect(Array.from(m.mask)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0]);
    expect(m.area).toBe(3);
    expect(m.bbox).toEqual([1, 1, 2, 2]);
    expect(m.score).toBeCloseTo((0.9 + 0.6 + 0.4) / 3, 6);
    const strict = thresholdMask(prob, 4, 3, 0.5);
    expect(strict.area).toBe(2);
    const none = thresholdMask(prob, 4, 3, 0.95);
    expect(none).toMatchObject({ area: 0, score: 0, bbox: [0, 0, 0, 0] });
  });
});

describe('score stays a probability', () => {
  // [4, 4] logits: a sharp vertical edge from -20 to +20; the bicubic upsample (A = -0.75)
  // overshoots past 1 next to it and below 0 on the other side.
  const logits = new Float32Array(16).map((_, i) => (i % 4 < 2 ? -20 : 20));
  const size = 64;
  const t = letterboxTransform(size, size, size);

  it('the upsample really overshoots (else this test would prove nothing)', () => {
    const prob = probabilityAtNetworkSize(logits, size);
    expect(Math.max(...prob)).toBeGreaterThan(1);
    expect(Math.min(...prob)).toBeLessThan(0);
  });

  it.each([0, 0.35, 0.99])('threshold %s: score within [0, 1]', (threshold) => {
    const result = logitsToPhraseMask(logits, t, threshold);
    expect(result.area).toBeGreaterThan(0);
    expect(result.score).toBeGreaterThanOrEqual(0);
    expect(result.score).toBeLessThanOrEqual(1);
  });
});
