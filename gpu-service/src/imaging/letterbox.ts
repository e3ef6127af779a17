/**
 * Letterbox + CLIP normalisation, as the reference's RefDataset (mode 'test'): warpAffine with
 * INTER_CUBIC and the pad colour as border, then /255, -mean, /std in float32 -> [3, S, S].
 */
import type { ArrayPool } from '../core/array-pool.js';
import type { LetterboxTransform } from '../core/types.js';
import { letterboxMatrix, type Affine } from './affine.js';
import type { DecodedRgb } from './decode.js';
import { normaliseTables, warpCubicU8ToChw } from './letterbox-fused.js';
import { warpAffineCubicU8 } from './warp.js';

export interface NormaliseParams {
  size: number;
  mean: readonly number[];
  std: readonly number[];
  pad_rgb: readonly number[];
}

/**
 * The matrix mapping decoded pixels to network pixels. When the image was shrunk on load the
 * reference matrix is composed with the shrink, mapping shrunk pixel x' to original k * x' (the
 * reference's own corner-aligned convention), so the first row and column land where the
 * reference puts them and the content edges do not blend with the border.
 */
export function decodedToNetworkMatrix(image: DecodedRgb, transform: LetterboxTransform): Affine {
  const mat = letterboxMatrix(transform);
  if (image.width === image.originalWidth && image.height === image.originalHeight) return mat;
  const kx = image.originalWidth / image.width; // original pixels per decoded pixel
  const ky = image.originalHeight / image.height;
  return [mat[0] * kx, mat[1] * ky, mat[2], mat[3] * kx, mat[4] * ky, mat[5]];
}

/** [S, S, 3] uint8 letterboxed RGB. */
export function letterboxRgb(image: DecodedRgb, transform: LetterboxTransform, padRgb: readonly number[]): Uint8Array {
  return warpAffineCubicU8(
    { src: image.rgb, width: image.width, height: image.height, channels: 3 },
    { matrix: decodedToNetworkMatrix(image, transform), dstWidth: transform.size, dstHeight: transform.size, border: padRgb },
  );
}

/** [S, S, 3] uint8 -> [3, S, S] float32: (v / 255 - mean) / std, each step in float32 as torch does. */
export function normaliseToChw(rgb: Uint8Array, size: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane); // [3, S, S]
  const tables = normaliseTables(mean, std);
  for (let c = 0; c < 3; c++) {
    const lut = tables[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = lut[rgb[i * 3 + c]];
  }
  return out;
}

/**
 * [3, S, S] float32 network input: letterboxRgb then normaliseToChw, in one pass when the map is
 * axis-aligned (always, for a letterbox; the two-step form otherwise). Same values either way.
 * With a pool the result is taken from it (the caller gives it back).
 */
export function letterboxToNetworkInput(image: DecodedRgb, transform: LetterboxTransform, input: NormaliseParams, pool?: ArrayPool): Float32Array {
  const length = 3 * transform.size * transform.size;
  const out = pool ? pool.float32(length) : new Float32Array(length); // [3, S, S], every value written
  const fused = warpCubicU8ToChw(
    { src: image.rgb, width: image.width, height: image.height, channels: 3 },
    { matrix: decodedToNetworkMatrix(image, transform), dstWidth: transform.size, dstHeight: transform.size, border: input.pad_rgb },
    normaliseTables(input.mean, input.std),
    out,
  );
  if (fused) return fused;
  pool?.give(out);
  return normaliseToChw(letterboxRgb(image, transform, input.pad_rgb), input.size, input.mean, input.std);
}
