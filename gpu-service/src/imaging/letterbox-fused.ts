/**
 * The letterbox and the CLIP normalisation in one pass, for the axis-aligned maps a letterbox
 * is (a scale + a shift): packed RGB uint8 -> [3, S, S] float32 network input, with the same
 * values as warpAffineCubicU8 followed by normaliseToChw (OpenCV's 15-bit 2-D cubic weights, so
 * bit-exact to cv2.warpAffine). Source columns and weight phases are computed once per output
 * column and row instead of per pixel, the interior takes a branch-free 4x4 path, and each
 * warped byte goes through its channel's normalisation table straight into the output plane.
 */
import { cvRound, INTER_BITS, TAB_SIZE } from './cubic-table.js';
import { warpCubicU8ToChwSimd } from './letterbox-simd.js';
import { axisAlignedSamples, cubicWindowRgb, edgePixelU8, type WarpInput, type WarpOptions } from './warp.js';

/** Per channel: byte value -> normalised float32 ((v / 255 - mean) / std, each step in float32). */
export function normaliseTables(mean: readonly number[], std: readonly number[]): Float32Array[] {
  const f = Math.fround;
  return [0, 1, 2].map((c) => {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = f(f(f(v / 255) - f(mean[c])) / f(std[c]));
    return lut;
  });
}

/**
 * [3, dstH, dstW] float32 = tables[c][warp(input)[y, x, c]]; null when the map is not
 * axis-aligned (then use warpAffineCubicU8 + normaliseToChw). `input` must be 3-channel.
 * Computed by the WebAssembly SIMD kernel (letterbox-simd.ts), or by warpCubicU8ToChwJs when the
 * layout is too large for it; the two agree to the bit. Written into `out` when given
 * (3 * dstH * dstW values), else into a new array.
 */
export function warpCubicU8ToChw(input: WarpInput<Uint8Array>, opts: WarpOptions, tables: readonly Float32Array[], out?: Float32Array): Float32Array | null {
  if (input.channels !== 3) throw new Error('warpCubicU8ToChw takes packed RGB');
  const samples = axisAlignedSamples(opts);
  if (!samples) return null;
  return warpCubicU8ToChwSimd(input, opts, samples, tables, out) ?? warpCubicU8ToChwJs(input, opts, tables, out);
}

/** The reference form of warpCubicU8ToChw in plain JS (what the SIMD kernel is tested against). */
export function warpCubicU8ToChwJs(input: WarpInput<Uint8Array>, opts: WarpOptions, tables: readonly Float32Array[], into?: Float32Array): Float32Array | null {
  if (input.channels !== 3) throw new Error('warpCubicU8ToChwJs takes packed RGB');
  const samples = axisAlignedSamples(opts);
  if (!samples) return null;
  const { src, width, height } = input;
  const W = opts.dstWidth;
  const H = opts.dstHeight;
  const plane = W * H;
  const out = into ?? new Float32Array(3 * plane); // [3, H, W], every value written
  const [lut0, lut1, lut2] = tables;
  const cval = opts.border.map((v) => Math.max(0, Math.min(255, cvRound(v))));
  const pad = [lut0[cval[0]], lut1[cval[1]], lut2[cval[2]]];
  const stride = width * 3;
  const sums = new Int32Array(3); // one pixel's warped bytes
  const mask = TAB_SIZE - 1;
  // Per output column: the window's first source column and the weight phase.
  const colStart = new Int32Array(W);
  const colPhase = new Int32Array(W);
  let xa = W; // interior columns: xa <= x < xb
  let xb = 0;
  for (let x = 0; x < W; x++) {
    colStart[x] = (samples.x[x] >> INTER_BITS) - 1;
    colPhase[x] = samples.x[x] & mask;
    if (colStart[x] >= 0 && colStart[x] < width - 3) {
      if (x < xa) xa = x;
      xb = x + 1;
    }
  }
  for (let y = 0; y < H; y++) {
    const sy = (samples.y[y] >> INTER_BITS) - 1;
    const phaseRow = (samples.y[y] & mask) * TAB_SIZE;
    const o = y * W;
    const outside = sy >= height || sy + 4 <= 0;
    const inside = sy >= 0 && sy < height - 3;
    for (let x = 0; x < W; x++) {
      const sx = colStart[x];
      if (inside && x >= xa && x < xb) {
        // Interior fast path for x in [xa, xb): one pass over the run.
        const rowBase = sy * stride;
        for (; x < xb; x++) {
          cubicWindowRgb(src, rowBase + colStart[x] * 3, stride, (phaseRow + colPhase[x]) * 16, sums);
          out[o + x] = lut0[sums[0]];
          out[plane + o + x] = lut1[sums[1]];
          out[2 * plane + o + x] = lut2[sums[2]];
        }
        x--; // the for loop's x++ moves past the run
        continue;
      }
      if (outside || sx >= width || sx + 4 <= 0) {
        out[o + x] = pad[0];
        out[plane + o + x] = pad[1];
        out[2 * plane + o + x] = pad[2];
        continue;
      }
      const w = (phaseRow + colPhase[x]) * 16;
      for (let k = 0; k < 3; k++) out[k * plane + o + x] = tables[k][edgePixelU8(input, sx, sy, w, k, cval[k])];
    }
  }
  return out;
}
