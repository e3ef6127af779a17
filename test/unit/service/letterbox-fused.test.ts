import { describe, expect, it } from 'vitest';
import {
  letterboxRgb,
  letterboxToNetworkInput,
  letterboxTransform,
  normaliseToChw,
  type DecodedRgb,
} from '../../../gpu-service/src/imaging/index.js';
import { maxAbsDiff, preprocessNpy as npy, readPreprocessGolden } from '../../helpers/golden.js';

const golden = readPreprocessGolden();
const { input_size: S, mean, std } = golden.meta;
const PAD = mean.map((m) => m * 255);
const input = { size: S, mean, std, pad_rgb: PAD };

/** The two-step form the fused pass must reproduce: warp to bytes, then normalise. */
const twoStep = (image: DecodedRgb, size = S) =>
  normaliseToChw(letterboxRgb(image, letterboxTransform(image.originalWidth, image.originalHeight, size), PAD), size, mean, std);

function noise(width: number, height: number, seed: number): DecodedRgb {
  let state = seed;
  const rgb = new Uint8Array(width * height * 3).map(() => (state = (state * 1103515245 + 12345) >>> 0) >>> 24);
  return { width, height, originalWidth: width, originalHeight: height, rgb, format: 'png' };
}

describe('letterbox and normalisation in one pass', () => {
  it.each(golden.images.map((im) => [im.name, im] as const))('equals warp + normalise to the bit on %s, and the reference input', (_name, im) => {
    const image: DecodedRgb = {
      width: im.width, height: im.height, originalWidth: im.width, originalHeight: im.height,
      rgb: npy<Uint8Array>(im.name, '_decoded_rgb'), format: 'png',
    };
    const fused = letterboxToNetworkInput(image, letterboxTransform(im.width, im.height, S), input);
    expect(maxAbsDiff(fused, twoStep(image))).toBe(0);
    expect(maxAbsDiff(fused, npy<Float32Array>(im.name, '_input'))).toBeLessThan(1e-6);
  });

  it.each([
    [480, 360], [360, 480], [161, 97], [3, 700], [700, 3], [1, 1], [2, 5], [160, 160], [1000, 999], [59, 61],
  ])('equals warp + normalise to the bit on %dx%d noise (edges, up- and downscales)', (width, height) => {
    const image = noise(width, height, width * 7919 + height);
    const fused = letterboxToNetworkInput(image, letterboxTransform(width, height, S), input);
    expect(fused.length).toBe(3 * S * S);
    expect(maxAbsDiff(fused, twoStep(image))).toBe(0);
  });

  it('equals warp + normalise for an image shrunk on load (composed matrix)', () => {
    const shrunk = { ...noise(400, 300, 5), originalWidth: 4000, originalHeight: 3000 };
    const t = letterboxTransform(4000, 3000, S);
    const expected = normaliseToChw(letterboxRgb(shrunk, t, PAD), S, mean, std);
    expect(maxAbsDiff(letterboxToNetworkInput(shrunk, t, input), expected)).toBe(0);
  });
});

describe('the fused pass applies to letterboxes', () => {
  it('finds every letterbox map axis-aligned (the one-pass path is taken, not the fallback)', async () => {
    const { warpCubicU8ToChw, normaliseTables, decodedToNetworkMatrix } = await import('../../../gpu-service/src/imaging/index.js');
    for (const [width, height] of [[480, 360], [3, 700], [1000, 999], [161, 97]]) {
      const image = noise(width, height, 1);
      const matrix = decodedToNetworkMatrix(image, letterboxTransform(width, height, S));
      const out = warpCubicU8ToChw({ src: image.rgb, width, height, channels: 3 }, { matrix, dstWidth: S, dstHeight: S, border: PAD }, normaliseTables(mean, std));
      expect(out).not.toBeNull();
    }
  });
});
