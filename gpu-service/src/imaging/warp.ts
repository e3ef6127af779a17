/**
 * cv2.warpAffine(..., flags=INTER_CUBIC, borderMode=BORDER_CONSTANT) over typed arrays, as
 * OpenCV computes it: destination pixel centres mapped back with the inverted matrix in 10-bit
 * fixed point, sub-pixel positions quantised to 1/32, Keys cubic kernel (a = -0.75) from a 32x32
 * table; uint8 images use OpenCV's 15-bit integer weights (rounded, sum corrected to 1), float
 * images the float weights. Taps outside the source take the border value.
 */
import type { ArrayPool } from '../core/array-pool.js';
import { invertAffine, type Affine } from './affine.js';
import { AB_BITS, AB_SCALE, COEF_BITS, COEF_SCALE, cvRound, INTER_BITS, ROUND_DELTA, TAB_SIZE, TABLES } from './cubic-table.js';

export interface WarpInput<T extends Uint8Array | Float32Array> {
  /** [height, width, channels] row-major. */
  src: T;
  width: number;
  height: number;
  channels: number;
}

export interface WarpOptions {
  /** The matrix as given to cv2.warpAffine: source -> destination pixels. */
  matrix: Affine;
  dstWidth: number;
  dstHeight: number;
  /** Border value per channel (uint8 images: rounded to integers as OpenCV does). */
  border: readonly number[];
  /** Float warp: use the separable form when the map is axis-aligned (default true). */
  separable?: boolean;
}

/** A window of the destination: only these pixels are computed (same values as the full warp). */
export interface WarpRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Source positions of one destination row, as WarpAffineInvoker computes them. */
interface RowSamples {
  /** Integer source x, y (the tap at offset 1 of the 4x4 window). */
  ix: Int32Array;
  iy: Int32Array;
  /** Weight-table row: (fy * 32 + fx). */
  tab: Int32Array;
}

function rowSampler(opts: WarpOptions): (y: number, row: RowSamples) => void {
  const m = invertAffine(opts.matrix); // destination -> source
  const adelta = new Int32Array(opts.dstWidth);
  const bdelta = new Int32Array(opts.dstWidth);
  for (let x = 0; x < opts.dstWidth; x++) {
    adelta[x] = cvRound(m[0] * x * AB_SCALE);
    bdelta[x] = cvRound(m[3] * x * AB_SCALE);
  }
  const shift = AB_BITS - INTER_BITS;
  return (y, row) => {
    const x0 = cvRound((m[1] * y + m[2]) * AB_SCALE) + ROUND_DELTA;
    const y0 = cvRound((m[4] * y + m[5]) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < opts.dstWidth; x++) {
      const X = (x0 + adelta[x]) >> shift;
      const Y = (y0 + bdelta[x]) >> shift;
      row.ix[x] = X >> INTER_BITS;
      row.iy[x] = Y >> INTER_BITS;
      row.tab[x] = (Y & (TAB_SIZE - 1)) * TAB_SIZE + (X & (TAB_SIZE - 1));
    }
  };
}

function newRow(width: number): RowSamples {
  return { ix: new Int32Array(width), iy: new Int32Array(width), tab: new Int32Array(width) };
}

/** Bicubic affine warp of a uint8 image; returns [dstHeight, dstWidth, channels] uint8. */
export function warpAffineCubicU8(input: WarpInput<Uint8Array>, opts: WarpOptions): Uint8Array {
  const { src, width, height, channels: cn } = input;
  const out = new Uint8Array(opts.dstWidth * opts.dstHeight * cn);
  const weights = TABLES.fixed;
  const cval = opts.border.map((v) => Math.max(0, Math.min(255, cvRound(v))));
  const half = 1 << (COEF_BITS - 1);
  const stride = width * cn;
  const sample = rowSampler(opts);
  const row = newRow(opts.dstWidth);
  const sums = new Int32Array(3);
  for (let y = 0; y < opts.dstHeight; y++) {
    sample(y, row);
    for (let x = 0; x < opts.dstWidth; x++) {
      const sx = row.ix[x] - 1;
      const sy = row.iy[x] - 1;
      const w = row.tab[x] * 16;
      const o = (y * opts.dstWidth + x) * cn;
      if (sx >= 0 && sy >= 0 && sx < width - 3 && sy < height - 3) {
        const base = sy * stride + sx * cn;
        if (cn === 3) {
          cubicWindowRgb(src, base, stride, w, sums);
          out[o] = sums[0];
          out[o + 1] = sums[1];
          out[o + 2] = sums[2];
          continue;
        }
        for (let k = 0; k < cn; k++) {
          let sum = 0;
          for (let r = 0, p = base + k, wr = w; r < 4; r++, p += stride, wr += 4) {
            sum += src[p] * weights[wr] + src[p + cn] * weights[wr + 1] + src[p + 2 * cn] * weights[wr + 2] + src[p + 3 * cn] * weights[wr + 3];
          }
          out[o + k] = clampU8((sum + half) >> COEF_BITS);
        }
      } else if (sx >= width || sx + 4 <= 0 || sy >= height || sy + 4 <= 0) {
        for (let k = 0; k < cn; k++) out[o + k] = cval[k];
      } else {
        for (let k = 0; k < cn; k++) out[o + k] = edgePixelU8(input, sx, sy, w, k, cval[k]);
      }
    }
  }
  return out;
}

/**
 * Interleaved RGB: the three channels of one destination pixel in one pass over its 4x4 source
 * window (first byte at p, weights at w), as bytes (rounded, saturated) into sums[0..2].
 */
export function cubicWindowRgb(src: Uint8Array, p: number, stride: number, w: number, sums: Int32Array): void {
  const weights = TABLES.fixed;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (let r = 0, wr = w; r < 4; r++, p += stride, wr += 4) {
    const w0 = weights[wr];
    const w1 = weights[wr + 1];
    const w2 = weights[wr + 2];
    const w3 = weights[wr + 3];
    s0 += src[p] * w0 + src[p + 3] * w1 + src[p + 6] * w2 + src[p + 9] * w3;
    s1 += src[p + 1] * w0 + src[p + 4] * w1 + src[p + 7] * w2 + src[p + 10] * w3;
    s2 += src[p + 2] * w0 + src[p + 5] * w1 + src[p + 8] * w2 + src[p + 11] * w3;
  }
  const half = 1 << (COEF_BITS - 1);
  sums[0] = clampU8((s0 + half) >> COEF_BITS);
  sums[1] = clampU8((s1 + half) >> COEF_BITS);
  sums[2] = clampU8((s2 + half) >> COEF_BITS);
}

/**
 * Channel k of a destination pixel whose 4x4 window (top-left sx, sy; weights at w) straddles
 * the source edge: taps outside take the border value cv.
 */
export function edgePixelU8(input: WarpInput<Uint8Array>, sx: number, sy: number, w: number, k: number, cv: number): number {
  const { src, width, height, channels: cn } = input;
  const weights = TABLES.fixed;
  let sum = cv * COEF_SCALE;
  for (let r = 0; r < 4; r++) {
    const yy = sy + r;
    if (yy < 0 || yy >= height) continue;
    for (let c = 0; c < 4; c++) {
      const xx = sx + c;
      if (xx < 0 || xx >= width) continue;
      sum += (src[(yy * width + xx) * cn + k] - cv) * weights[w + r * 4 + c];
    }
  }
  return clampU8((sum + (1 << (COEF_BITS - 1))) >> COEF_BITS);
}

/**
 * Per-axis sample positions when the fixed-point mapping is axis-aligned (a scale + shift, as the
 * letterbox and its inverse are): X depends on x only and Y on y only. null otherwise.
 */
export function axisAlignedSamples(opts: WarpOptions): { x: Int32Array; y: Int32Array } | null {
  const m = invertAffine(opts.matrix);
  const shift = AB_BITS - INTER_BITS;
  const x0 = cvRound(m[2] * AB_SCALE) + ROUND_DELTA;
  const y0 = cvRound(m[5] * AB_SCALE) + ROUND_DELTA;
  const xs = new Int32Array(opts.dstWidth); // X in 1/32 pixels
  const ys = new Int32Array(opts.dstHeight);
  for (let x = 0; x < opts.dstWidth; x++) {
    if (cvRound(m[3] * x * AB_SCALE) !== 0) return null;
    xs[x] = (x0 + cvRound(m[0] * x * AB_SCALE)) >> shift;
  }
  for (let y = 0; y < opts.dstHeight; y++) {
    if (cvRound((m[1] * y + m[2]) * AB_SCALE) + ROUND_DELTA !== x0) return null;
    ys[y] = (cvRound((m[4] * y + m[5]) * AB_SCALE) + ROUND_DELTA) >> shift;
  }
  return { x: xs, y: ys };
}

/** For each output position: 4 source indices (clamped) and weights (0 for taps outside); from `pool` when given. */
export function axisTaps(positions: Int32Array, size: number, pool?: ArrayPool): { index: Int32Array; weight: Float64Array } {
  const index = pool ? pool.int32(positions.length * 4) : new Int32Array(positions.length * 4); // every value written
  const weight = pool ? pool.float64(positions.length * 4) : new Float64Array(positions.length * 4);
  for (let i = 0; i < positions.length; i++) {
    const start = (positions[i] >> INTER_BITS) - 1;
    const frac = positions[i] & (TAB_SIZE - 1);
    for (let t = 0; t < 4; t++) {
      const s = start + t;
      const inside = s >= 0 && s < size;
      index[i * 4 + t] = inside ? s : 0;
      weight[i * 4 + t] = inside ? TABLES.oneD[frac * 4 + t] : 0;
    }
  }
  return { index, weight };
}

/**
 * The separable form of the float warp for axis-aligned maps: the same quantised positions and
 * 1-D weights, rows first then columns (55 M instead of 195 M multiply-adds for a 12 MP output).
 * Differs from the 2-D sum only by float rounding of the weight products (~1e-7).
 */
function warpSeparableF32(
  input: WarpInput<Float32Array>,
  opts: WarpOptions,
  samples: { x: Int32Array; y: Int32Array },
  region: WarpRegion,
  pool?: ArrayPool,
): Float32Array {
  const { src, width, height } = input;
  const cv = opts.border[0] ?? 0;
  const W = region.width;
  const tx = axisTaps(samples.x.subarray(region.x, region.x + region.width), width, pool);
  const ty = axisTaps(samples.y.subarray(region.y, region.y + region.height), height, pool);
  // Source rows first .. last, each sampled at the output x: only the rows the vertical taps read.
  const needed = new Uint8Array(height);
  let first = height;
  let last = 0;
  for (let i = 0; i < ty.index.length; i++) {
    const sy = ty.index[i];
    needed[sy] = 1;
    if (sy < first) first = sy;
    if (sy > last) last = sy;
  }
  const rowsSize = Math.max(0, last - first + 1) * W;
  const rows = pool ? pool.float32(rowsSize) : new Float32Array(rowsSize); // [last - first + 1, regionW]: only the needed rows are written and read
  const xi = tx.index;
  const xw = tx.weight;
  for (let sy = first; sy <= last; sy++) {
    if (!needed[sy]) continue;
    const srcRow = sy * width;
    const outRow = (sy - first) * W;
    for (let x = 0, t = 0; x < W; x++, t += 4) {
      rows[outRow + x] =
        xw[t] * (src[srcRow + xi[t]] - cv) +
        xw[t + 1] * (src[srcRow + xi[t + 1]] - cv) +
        xw[t + 2] * (src[srcRow + xi[t + 2]] - cv) +
        xw[t + 3] * (src[srcRow + xi[t + 3]] - cv);
    }
  }
  const out = pool ? pool.float32(W * region.height) : new Float32Array(W * region.height); // [regionH, regionW], every value written
  for (let y = 0; y < region.height; y++) {
    const t = y * 4;
    const w0 = ty.weight[t];
    const w1 = ty.weight[t + 1];
    const w2 = ty.weight[t + 2];
    const w3 = ty.weight[t + 3];
    const r0 = (ty.index[t] - first) * W;
    const r1 = (ty.index[t + 1] - first) * W;
    const r2 = (ty.index[t + 2] - first) * W;
    const r3 = (ty.index[t + 3] - first) * W;
    const o = y * W;
    for (let x = 0; x < W; x++) out[o + x] = cv + w0 * rows[r0 + x] + w1 * rows[r1 + x] + w2 * rows[r2 + x] + w3 * rows[r3 + x];
  }
  for (const scratch of [rows, tx.index, tx.weight, ty.index, ty.weight]) pool?.give(scratch);
  return out;
}

/**
 * Bicubic affine warp of a single-channel float image; returns [dstHeight, dstWidth] float32, or
 * [region.height, region.width] when a region is given. `pool`: where the separable form takes
 * its scratch and its result from (the caller gives the result back).
 */
export function warpAffineCubicF32(input: WarpInput<Float32Array>, opts: WarpOptions, region?: WarpRegion, pool?: ArrayPool): Float32Array {
  const { src, width, height } = input;
  if (input.channels !== 1) throw new Error('warpAffineCubicF32 takes one channel');
  const win = region ?? { x: 0, y: 0, width: opts.dstWidth, height: opts.dstHeight };
  if (win.x < 0 || win.y < 0 || win.x + win.width > opts.dstWidth || win.y + win.height > opts.dstHeight) {
    throw new Error('warp region outside the destination');
  }
  const samples = opts.separable === false ? null : axisAlignedSamples(opts);
  if (samples) return warpSeparableF32(input, opts, samples, win, pool);
  const out = new Float32Array(win.width * win.height);
  const weights = TABLES.float;
  const cv = opts.border[0] ?? 0;
  const sample = rowSampler(opts);
  const row = newRow(opts.dstWidth);
  for (let y = win.y; y < win.y + win.height; y++) {
    sample(y, row);
    for (let x = win.x; x < win.x + win.width; x++) {
      const sx = row.ix[x] - 1;
      const sy = row.iy[x] - 1;
      const w = row.tab[x] * 16;
      const d = (y - win.y) * win.width + (x - win.x);
      if (sx >= 0 && sy >= 0 && sx < width - 3 && sy < height - 3) {
        let sum = 0;
        for (let r = 0, p = sy * width + sx, wr = w; r < 4; r++, p += width, wr += 4) {
          sum += src[p] * weights[wr] + src[p + 1] * weights[wr + 1] + src[p + 2] * weights[wr + 2] + src[p + 3] * weights[wr + 3];
        }
        out[d] = sum;
      } else if (sx >= width || sx + 4 <= 0 || sy >= height || sy + 4 <= 0) {
        out[d] = cv;
      } else {
        let sum = cv;
        for (let r = 0; r < 4; r++) {
          const yy = sy + r;
          if (yy < 0 || yy >= height) continue;
          for (let c = 0; c < 4; c++) {
            const xx = sx + c;
            if (xx < 0 || xx >= width) continue;
            sum += (src[yy * width + xx] - cv) * weights[w + r * 4 + c];
          }
        }
        out[d] = sum;
      }
    }
  }
  return out;
}

export function clampU8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
