import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import type { Affine } from '../../../gpu-service/src/imaging/affine.js';
import {
  axisAlignedSamples,
  decodedToNetworkMatrix,
  letterboxToNetworkInput,
  letterboxTransform,
  normaliseTables,
  warpCubicU8ToChwJs,
  type DecodedRgb,
  type WarpOptions,
} from '../../../gpu-service/src/imaging/index.js';
import * as simd from '../../../gpu-service/src/imaging/letterbox-simd.js';
import { REPO_ROOT } from '../../helpers/golden.js';

// The production entry must reach the SIMD kernel: wrapped (not replaced) so calls can be counted.
vi.mock('../../../gpu-service/src/imaging/letterbox-simd.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../gpu-service/src/imaging/letterbox-simd.js')>();
  return { ...actual, warpCubicU8ToChwSimd: vi.fn(actual.warpCubicU8ToChwSimd) };
});

const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];
const PAD = MEAN.map((m) => m * 255);

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

function noise(width: number, height: number, seed: number): DecodedRgb {
  const next = random(seed);
  const rgb = new Uint8Array(width * height * 3).map(() => Math.floor(next() * 256));
  return { width, height, originalWidth: width, originalHeight: height, rgb, format: 'png' };
}

/** The SIMD kernel's output next to the JS reference's, for one warp. */
function both(image: DecodedRgb, opts: WarpOptions, tables = normaliseTables(MEAN, STD)) {
  const input = { src: image.rgb, width: image.width, height: image.height, channels: 3 };
  const samples = axisAlignedSamples(opts);
  if (!samples) throw new Error('test map is not axis-aligned');
  return { fast: simd.warpCubicU8ToChwSimd(input, opts, samples, tables), reference: warpCubicU8ToChwJs(input, opts, tables) };
}

/** Index of the first differing float (bit patterns, so -0 and NaN count too), or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (x.length !== y.length) return 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

function letterboxOpts(image: DecodedRgb, size: number, border: readonly number[] = PAD): WarpOptions {
  const matrix = decodedToNetworkMatrix(image, letterboxTransform(image.originalWidth, image.originalHeight, size));
  return { matrix, dstWidth: size, dstHeight: size, border };
}

describe('letterbox in WebAssembly SIMD', () => {
  it('is assembled from letterbox-simd.wat: the committed bytes are what wabt makes of it today', async () => {
    const assembler = join(REPO_ROOT, 'gpu-service/deploy/assemble-wasm.mjs');
    const { assembleLetterboxWasm, BYTES_PATH } = await import(pathToFileURL(assembler).href);
    expect(await assembleLetterboxWasm()).toBe(readFileSync(BYTES_PATH, 'utf8'));
  });

  it.each([
    [480, 360, 160], [360, 480, 160], [1, 1, 160], [2, 3, 160], [3, 2, 160], [1, 700, 160], [700, 1, 160],
    [2000, 2, 160], [2, 2000, 160], [5, 1, 33], [97, 161, 160], [160, 160, 160], [640, 480, 320], [17, 13, 1],
    [1, 1, 1], [4, 4, 7], [1000, 999, 64],
  ])('equals the JS reference to the bit on a %dx%d image letterboxed to %d', (width, height, size) => {
    const image = noise(width, height, width * 7919 + height * 31 + size);
    const { fast, reference } = both(image, letterboxOpts(image, size));
    expect(fast).not.toBeNull();
    expect(fast!.length).toBe(3 * size * size);
    expect(firstDifference(fast!, reference!)).toBe(-1);
  });

  it('equals the JS reference on 150 random sizes, borders and normalisations, in one instance (memory reused)', () => {
    const next = random(2024);
    for (let i = 0; i < 150; i++) {
      const pick = next();
      // tall, wide, tiny and ordinary images; networks smaller and larger than them (scale < 1 and > 1)
      const width = pick < 0.2 ? 1 + Math.floor(next() * 4) : 1 + Math.floor(next() * (pick < 0.6 ? 400 : 40));
      const height = pick > 0.8 ? 1 + Math.floor(next() * 4) : 1 + Math.floor(next() * (pick > 0.4 ? 400 : 40));
      const size = 1 + Math.floor(next() * 200);
      const border = [0, 1, 2].map(() => (next() < 0.2 ? next() * 400 - 70 : next() * 255)); // also out of 0..255
      const tables = normaliseTables([0, 1, 2].map(() => next()), [0, 1, 2].map(() => 0.05 + next()));
      const image = noise(width, height, i);
      const { fast, reference } = both(image, letterboxOpts(image, size, border), tables);
      expect({ i, width, height, size, at: firstDifference(fast!, reference!) }).toEqual({ i, width, height, size, at: -1 });
    }
  });

  it('equals the JS reference for scaled and shifted maps that are not letterboxes (flips, shifts off the image, rectangles)', () => {
    const next = random(77);
    const image = noise(57, 43, 9);
    for (let i = 0; i < 60; i++) {
      const sx = (next() < 0.2 ? -1 : 1) * (0.05 + next() * 4); // negative: mirrored
      const sy = (next() < 0.2 ? -1 : 1) * (0.05 + next() * 4);
      const matrix: Affine = [sx, 0, (next() - 0.5) * 300, 0, sy, (next() - 0.5) * 300];
      const opts = { matrix, dstWidth: 1 + Math.floor(next() * 120), dstHeight: 1 + Math.floor(next() * 120), border: PAD };
      const { fast, reference } = both(image, opts);
      expect({ i, at: firstDifference(fast!, reference!) }).toEqual({ i, at: -1 });
    }
  });

  it('returns arrays of its own: a later call leaves an earlier result as it was', () => {
    const a = noise(48, 36, 1);
    const first = both(a, letterboxOpts(a, 32)).fast!;
    const copy = first.slice();
    const b = noise(300, 20, 2);
    both(b, letterboxOpts(b, 64));
    expect(firstDifference(first, copy)).toBe(-1);
  });
});

describe('the service letterbox takes the SIMD path', () => {
  it('letterboxToNetworkInput returns the SIMD kernel result (a silent fallback to JS would fail this)', () => {
    const kernel = vi.mocked(simd.warpCubicU8ToChwSimd);
    for (const [width, height] of [[480, 360], [3, 700], [1, 1], [1000, 999]]) {
      kernel.mockClear();
      const image = noise(width, height, 3);
      const out = letterboxToNetworkInput(image, letterboxTransform(width, height, 160), { size: 160, mean: MEAN, std: STD, pad_rgb: PAD });
      expect(kernel).toHaveBeenCalledTimes(1);
      expect(kernel.mock.results[0].value).toBe(out);
    }
  });
});
