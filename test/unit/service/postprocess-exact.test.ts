/**
 * The fast post-processing answers exactly what the code before it did (kept verbatim in
 * test/helpers/postprocess-reference.ts): every mask pixel, score (to the last bit), bbox, area,
 * regions, RLE string and polygon, on random logits of many kinds, many image sizes and the
 * golden images; and each fast part (upsample, warp, regions, runs, box) equals its reference.
 */
import { describe, expect, it } from 'vitest';
import { maskBox, maskToRuns, runsToString } from '../../../contract/rle.js';
import type { LetterboxTransform, PhraseMask } from '../../../gpu-service/src/core/types.js';
import { inverseLetterboxMatrix, letterboxTransform, warpAffineCubicF32 } from '../../../gpu-service/src/imaging/index.js';
import { axisAlignedSamples } from '../../../gpu-service/src/imaging/warp.js';
import { candidateRegion, countRegions, encodeMask, logitsToPhraseMask, probabilityAndRegion, upsampleBicubicAlignCorners } from '../../../gpu-service/src/masks/index.js';
import { maskToPolygons } from '../../../gpu-service/src/masks/polygon.js';
import { preprocessNpy as npy, readPreprocessGolden } from '../../helpers/golden.js';
import {
  referenceCountRegions,
  referenceProbabilityAtNetworkSize,
  referenceLogitsToPhraseMask,
  referenceMaskToPolygons,
  referenceMaskToRuns,
  referenceUpsample,
  referenceWarpSeparableF32,
} from '../../helpers/postprocess-reference.js';

/** mulberry32: a seeded uniform [0, 1). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Pattern = (grid: number, rand: () => number) => Float32Array;

/** Logit maps [G, G] of the kinds the checks need. */
const PATTERNS: Record<string, Pattern> = {
  empty: (g) => new Float32Array(g * g).fill(-12),
  full: (g) => new Float32Array(g * g).fill(8),
  noise: (g, rand) => Float32Array.from({ length: g * g }, () => 12 * rand() - 6),
  'many parts': (g, rand) => Float32Array.from({ length: g * g }, () => (rand() < 0.15 ? 3 + 3 * rand() : -8)),
  'thin lines': (g, rand) => {
    const out = new Float32Array(g * g).fill(-9);
    const row = Math.floor(rand() * g);
    const column = Math.floor(rand() * g);
    for (let i = 0; i < g; i++) out[row * g + i] = out[i * g + column] = 2 + rand();
    return out;
  },
  'blob at the borders': (g, rand) => {
    const out = new Float32Array(g * g).fill(-9);
    for (let y = 0; y < g; y++) for (let x = 0; x < g; x++) if (x < g / 4 || y > (3 * g) / 4 || x === g - 1) out[y * g + x] = 1 + 4 * rand();
    return out;
  },
  'small object': (g, rand) => {
    const out = new Float32Array(g * g).fill(-10);
    const cx = Math.floor(g / 3 + rand() * (g / 3));
    const cy = Math.floor(g / 3 + rand() * (g / 3));
    for (let y = cy; y < cy + 2; y++) for (let x = cx; x < cx + 3; x++) out[y * g + x] = 5;
    return out;
  },
  // 2x2 blocks of middling cells between zeros: the upsample overshoots to 1.41x them at the
  // blocks' centres, so a cell below a high threshold still puts pixels above it.
  'overshooting blocks': (g, rand) => {
    const out = new Float32Array(g * g).fill(-20);
    for (let y = 1; y + 2 < g; y += 5) for (let x = 1 + (y % 3); x + 2 < g; x += 6) {
      const logit = 0.6 + 1.4 * rand();
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) out[(y + dy) * g + x + dx] = logit;
    }
    return out;
  },
  'a NaN among them': (g, rand) => {
    const out = Float32Array.from({ length: g * g }, () => (rand() < 0.2 ? 4 : -8));
    out[Math.floor(rand() * g * g)] = NaN;
    return out;
  },
  'ring under the threshold': (g, rand) => {
    const out = new Float32Array(g * g).fill(-9);
    for (let y = 0; y < g; y++) {
      for (let x = 0; x < g; x++) {
        const r = Math.hypot(x - g / 2, y - g / 2);
        if (r < g / 6) out[y * g + x] = 4 * rand() - 0.5;
        else if (r < g / 3 && rand() < 0.4) out[y * g + x] = -1.1 + 0.6 * rand();
      }
    }
    return out;
  },
};

function expectSamePhrase(fast: PhraseMask, reference: PhraseMask, label: string): void {
  expect({ area: fast.area, bbox: fast.bbox, regions: fast.regions, found: fast.found }, label).toEqual({
    area: reference.area,
    bbox: reference.bbox,
    regions: reference.regions,
    found: reference.found,
  });
  expect(Object.is(fast.score, reference.score), `${label}: score ${fast.score} vs ${reference.score}`).toBe(true);
  expect(Buffer.from(fast.mask).equals(Buffer.from(reference.mask)), `${label}: mask`).toBe(true);
}

async function expectSameEncodings(fast: PhraseMask, reference: PhraseMask, label: string): Promise<void> {
  const rle = await encodeMask(fast, 'rle');
  expect(rle, label).toEqual({ format: 'rle', size: [reference.height, reference.width], counts: runsToString(referenceMaskToRuns(reference.mask, reference.width, reference.height)) });
  const polygon = await encodeMask(fast, 'polygon');
  expect(polygon, label).toEqual({ format: 'polygon', coordinates: referenceMaskToPolygons(reference.mask, reference.width, reference.height) });
}

async function expectSameAnswer(logits: Float32Array, t: LetterboxTransform, threshold: number, label: string): Promise<PhraseMask> {
  const fast = logitsToPhraseMask(logits, t, threshold);
  const reference = referenceLogitsToPhraseMask(logits, t, threshold);
  expectSamePhrase(fast, reference, label);
  await expectSameEncodings(fast, reference, label);
  return reference;
}

describe('logitsToPhraseMask and its encodings equal the code before the fast path', () => {
  const SIZES: Array<[number, number]> = [
    [480, 360],
    [360, 480],
    [160, 160],
    [1, 1000],
    [1000, 1],
    [1, 1],
    [17, 5],
    [641, 479],
  ];

  it.each(Object.keys(PATTERNS))('%s logits, S 160 (grid 40), several image sizes and thresholds', async (pattern) => {
    const rand = random(pattern.length * 7919);
    let found = 0;
    for (const [width, height] of SIZES) {
      for (const threshold of [0.55, 0, 0.99]) {
        const logits = PATTERNS[pattern](40, rand);
        const reference = await expectSameAnswer(logits, letterboxTransform(width, height, 160), threshold, `${pattern} ${width}x${height} t=${threshold}`);
        if (reference.found) found++;
      }
    }
    if (pattern !== 'empty') expect(found).toBeGreaterThan(0); // the comparison saw masks, not only empty ones
  });

  it('many random maps at the bench case (480x360, S 160, threshold 0.55) and at S 416 (grid 104)', async () => {
    const rand = random(21);
    const kinds = Object.values(PATTERNS);
    let regions = 0;
    for (let i = 0; i < 32; i++) {
      const reference = await expectSameAnswer(kinds[i % kinds.length](40, rand), letterboxTransform(480, 360, 160), 0.55, `bench case ${i}`);
      regions = Math.max(regions, reference.regions);
    }
    for (let i = 0; i < 8; i++) await expectSameAnswer(kinds[i % kinds.length](104, rand), letterboxTransform(640, 427, 416), 0.35, `S 416 case ${i}`);
    expect(regions).toBeGreaterThan(3); // several parts were counted
  });

  it('a 12 MP photo with a small object, and one with a large one', { timeout: 60_000 }, async () => {
    const rand = random(12);
    const t = letterboxTransform(4032, 3024, 160);
    await expectSameAnswer(PATTERNS['small object'](40, rand), t, 0.55, '12 MP small');
    await expectSameAnswer(PATTERNS['ring under the threshold'](40, rand), letterboxTransform(3024, 4032, 160), 0.35, '12 MP portrait ring');
  });

  it('the golden images (S 416)', async () => {
    const golden = readPreprocessGolden();
    for (const im of golden.images) {
      const t = letterboxTransform(im.width, im.height, golden.meta.input_size);
      await expectSameAnswer(npy<Float32Array>(im.name, '_logits'), t, 0.35, im.name);
    }
  });
});

describe('the fast parts equal their references', () => {
  it('probabilityAndRegion: a region holding the reference one, and the full upsample wherever its warp reads', () => {
    const rand = random(6);
    let compared = 0;
    for (const [pattern, make] of Object.entries(PATTERNS)) {
      for (const [width, height] of [[480, 360], [360, 480], [17, 5], [1, 700], [4032, 3024], [161, 159]]) {
        for (const threshold of [0.55, 0.9, 0.99, 0.2, 0]) {
          const logits = make(40, rand);
          const t = letterboxTransform(width, height, 160);
          const label = `${pattern} ${width}x${height} t=${threshold}`;
          const full = referenceProbabilityAtNetworkSize(logits, 160);
          const expected = candidateRegion(full, t, threshold); // on the whole map, as before
          const { prob, region } = probabilityAndRegion(logits, t, threshold);
          if (!expected) continue; // nothing can pass: any region gives the empty mask (checked above)
          expect(region, label).not.toBeNull();
          const r = region!;
          expect(r.x <= expected.x && r.y <= expected.y && r.x + r.width >= expected.x + expected.width && r.y + r.height >= expected.y + expected.height, label).toBe(true);
          // Every source pixel the warp's taps of the region read, as warpSeparableF32 indexes them.
          const samples = axisAlignedSamples({ matrix: inverseLetterboxMatrix(t), dstWidth: width, dstHeight: height, border: [0] })!;
          const taps = (positions: Int32Array) => new Set(Array.from(positions).flatMap((p) => [-1, 0, 1, 2].map((k) => (p >> 5) + k).map((s) => (s >= 0 && s < 160 ? s : 0))));
          const rows = taps(samples.y.subarray(r.y, r.y + r.height));
          const columns = taps(samples.x.subarray(r.x, r.x + r.width));
          for (const v of rows) for (const u of columns) if (!Object.is(prob[v * 160 + u], full[v * 160 + u])) expect.fail(`${label}: prob at (${u}, ${v})`);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('upsampleBicubicAlignCorners: the same float32 bits', () => {
    const rand = random(3);
    for (const [inSize, outSize] of [[40, 160], [104, 416], [4, 64], [1, 7], [5, 1]]) {
      const src = Float32Array.from({ length: inSize * inSize }, () => rand());
      expect(Buffer.from(upsampleBicubicAlignCorners(src, inSize, inSize, outSize, outSize).buffer).equals(Buffer.from(referenceUpsample(src, inSize, inSize, outSize, outSize).buffer))).toBe(true);
    }
  });

  it('the separable float warp on a region: the same float32 bits, borders and small maps included', () => {
    const rand = random(4);
    for (const [width, height, S] of [[480, 360, 160], [360, 480, 160], [1, 900, 160], [900, 1, 160], [33, 31, 16], [4032, 3024, 160]]) {
      const t = letterboxTransform(width, height, S);
      const src = Float32Array.from({ length: S * S }, () => 1.4 * rand() - 0.2);
      const input = { src, width: S, height: S, channels: 1 };
      const opts = { matrix: inverseLetterboxMatrix(t), dstWidth: width, dstHeight: height, border: [0] };
      for (let i = 0; i < 4; i++) {
        const x = Math.floor(rand() * width);
        const y = Math.floor(rand() * height);
        const region = i === 0 ? { x: 0, y: 0, width, height: Math.min(height, 400) } : { x, y, width: 1 + Math.floor(rand() * Math.min(300, width - x)), height: 1 + Math.floor(rand() * Math.min(300, height - y)) };
        const fast = warpAffineCubicF32(input, opts, region);
        expect(Buffer.from(fast.buffer).equals(Buffer.from(referenceWarpSeparableF32(input, opts, region).buffer)), `${width}x${height} ${JSON.stringify(region)}`).toBe(true);
      }
    }
  });

  it('countRegions, maskToRuns and maskBox on random masks (any non-zero byte is set; unaligned views)', () => {
    const rand = random(5);
    for (let i = 0; i < 300; i++) {
      const width = 1 + Math.floor(rand() * (i % 3 === 0 ? 3 : 60));
      const height = 1 + Math.floor(rand() * (i % 5 === 0 ? 3 : 60));
      const density = [0, 0.02, 0.3, 0.6, 0.97, 1][i % 6];
      const offset = i % 4; // a view into a larger buffer, at every alignment
      const buffer = new Uint8Array(width * height + offset + 3);
      const mask = buffer.subarray(offset, offset + width * height);
      for (let p = 0; p < mask.length; p++) if (rand() < density) mask[p] = i % 7 === 0 ? 255 : 1;
      const label = `${width}x${height} density ${density} offset ${offset}`;
      let [minX, minY, maxX, maxY] = [width, height, -1, -1];
      for (let p = 0; p < mask.length; p++) {
        if (!mask[p]) continue;
        const x = p % width;
        const y = Math.floor(p / width);
        [minX, minY, maxX, maxY] = [Math.min(minX, x), Math.min(minY, y), Math.max(maxX, x), Math.max(maxY, y)];
      }
      const box = maxX < 0 ? [0, 0, 0, 0] : [minX, minY, maxX - minX + 1, maxY - minY + 1];
      expect(maskBox(mask, width, height), label).toEqual(box);
      expect(maskToRuns(mask, width, height), label).toEqual(referenceMaskToRuns(mask, width, height));
      expect(countRegions(mask, width, box as [number, number, number, number]), label).toBe(referenceCountRegions(mask, width, box as [number, number, number, number]));
      expect(maskToPolygons(mask, width, height), label).toEqual(referenceMaskToPolygons(mask, width, height));
    }
  });
});
