/**
 * cv2.warpAffine(..., flags=INTER_CUBIC, borderMode=BORDER_CONSTANT) over typed arrays, as
 * OpenCV computes it: destination pixel centres mapped back with the inverted matrix in 10-bit
 * fixed point, sub-pixel positions quantised to 1/32, Keys cubic kernel (a = -0.75) from a 32x32
 * table; uint8 images use OpenCV's 15-bit integer weights (rounded, sum corrected to 1), float
 * images the float weights. Taps outside the source take the border value.
 */
import { invertAffine, type Affine } from './affine.js';

const INTER_BITS = 5;
const TAB_SIZE = 1 << INTER_BITS; // 32 sub-pixel positions
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const ROUND_DELTA = AB_SCALE / TAB_SIZE / 2;
const COEF_BITS = 15;
const COEF_SCALE = 1 << COEF_BITS;

/** Round half to even, as cvRound / saturate_cast<int> do. */
function cvRound(value: number): number {
  const r = Math.round(value);
  return r - value === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** OpenCV interpolateCubic in float32 arithmetic: 4 weights at fraction x. */
function cubicWeights(x: number): [number, number, number, number] {
  const f = Math.fround;
  const A = -0.75;
  const x1 = f(x + 1);
  const c0 = f(f(f(f(f(f(A * x1) - f(5 * A)) * x1) + f(8 * A)) * x1) - f(4 * A));
  const c1 = f(f(f(f(f(f(A + 2) * x) - f(A + 3)) * x) * x) + 1);
  const omx = f(1 - x);
  const c2 = f(f(f(f(f(f(A + 2) * omx) - f(A + 3)) * omx) * omx) + 1);
  const c3 = f(f(f(1 - c0) - c1) - c2);
  return [c0, c1, c2, c3];
}

interface CubicTables {
  /** [32*32, 16] float weights, index (fy*32 + fx)*16 + row*4 + col. */
  float: Float32Array;
  /** The same as OpenCV's int16 fixed-point weights. */
  fixed: Int32Array;
}

function buildTables(): CubicTables {
  const oneD: number[][] = [];
  for (let i = 0; i < TAB_SIZE; i++) oneD.push(cubicWeights(Math.fround(i * Math.fround(1 / TAB_SIZE))));
  const float = new Float32Array(TAB_SIZE * TAB_SIZE * 16);
  const fixed = new Int32Array(TAB_SIZE * TAB_SIZE * 16);
  for (let i = 0; i < TAB_SIZE; i++) {
    for (let j = 0; j < TAB_SIZE; j++) {
      const base = (i * TAB_SIZE + j) * 16;
      let sum = 0;
      for (let k1 = 0; k1 < 4; k1++) {
        for (let k2 = 0; k2 < 4; k2++) {
          const v = Math.fround(oneD[i][k1] * oneD[j][k2]);
          float[base + k1 * 4 + k2] = v;
          const q = Math.max(-32768, Math.min(32767, cvRound(Math.fround(v * COEF_SCALE))));
          fixed[base + k1 * 4 + k2] = q;
          sum += q;
        }
      }
      if (sum !== COEF_SCALE) {
        // OpenCV puts the rounding error on the largest (or smallest) of the weights with
        // k1, k2 in ksize/2 .. ksize/2 + 1 (= 2..3 for the 4x4 cubic kernel).
        const diff = sum - COEF_SCALE;
        let mk = 2 * 4 + 2;
        let Mk = mk;
        for (let k1 = 2; k1 < 4; k1++) {
          for (let k2 = 2; k2 < 4; k2++) {
            const idx = k1 * 4 + k2;
            if (fixed[base + idx] < fixed[base + mk]) mk = idx;
            else if (fixed[base + idx] > fixed[base + Mk]) Mk = idx;
          }
        }
        if (diff < 0) fixed[base + Mk] -= diff;
        else fixed[base + mk] -= diff;
      }
    }
  }
  return { float, fixed };
}

const TABLES: CubicTables = buildTables(); // constants, 1024 x 16 weights

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
}

/** Calls visit(dstIndex, ix, iy, tableIndex) for every destination pixel, as WarpAffineInvoker maps it. */
function forEachSample(
  opts: WarpOptions,
  visit: (dst: number, ix: number, iy: number, tab: number) => void,
): void {
  const m = invertAffine(opts.matrix); // destination -> source
  const adelta = new Int32Array(opts.dstWidth);
  const bdelta = new Int32Array(opts.dstWidth);
  for (let x = 0; x < opts.dstWidth; x++) {
    adelta[x] = cvRound(m[0] * x * AB_SCALE);
    bdelta[x] = cvRound(m[3] * x * AB_SCALE);
  }
  const shift = AB_BITS - INTER_BITS;
  for (let y = 0; y < opts.dstHeight; y++) {
    const x0 = cvRound((m[1] * y + m[2]) * AB_SCALE) + ROUND_DELTA;
    const y0 = cvRound((m[4] * y + m[5]) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < opts.dstWidth; x++) {
      const X = (x0 + adelta[x]) >> shift;
      const Y = (y0 + bdelta[x]) >> shift;
      visit(y * opts.dstWidth + x, X >> INTER_BITS, Y >> INTER_BITS, (Y & (TAB_SIZE - 1)) * TAB_SIZE + (X & (TAB_SIZE - 1)));
    }
  }
}

/** Bicubic affine warp of a uint8 image; returns [dstHeight, dstWidth, channels] uint8. */
export function warpAffineCubicU8(input: WarpInput<Uint8Array>, opts: WarpOptions): Uint8Array {
  const { src, width, height, channels: cn } = input;
  const out = new Uint8Array(opts.dstWidth * opts.dstHeight * cn);
  const weights = TABLES.fixed;
  const cval = opts.border.map((v) => Math.max(0, Math.min(255, cvRound(v))));
  const xs = new Int32Array(4);
  const ys = new Int32Array(4);
  forEachSample(opts, (d, ix, iy, tab) => {
    const sx = ix - 1;
    const sy = iy - 1;
    const w = tab * 16;
    const o = d * cn;
    if (sx >= 0 && sy >= 0 && sx < width - 3 && sy < height - 3) {
      for (let k = 0; k < cn; k++) {
        let sum = 0;
        for (let r = 0; r < 4; r++) {
          const row = ((sy + r) * width + sx) * cn + k;
          sum += src[row] * weights[w + r * 4] + src[row + cn] * weights[w + r * 4 + 1] +
            src[row + 2 * cn] * weights[w + r * 4 + 2] + src[row + 3 * cn] * weights[w + r * 4 + 3];
        }
        out[o + k] = clampU8((sum + (1 << (COEF_BITS - 1))) >> COEF_BITS);
      }
    } else if (sx >= width || sx + 4 <= 0 || sy >= height || sy + 4 <= 0) {
      for (let k = 0; k < cn; k++) out[o + k] = cval[k];
    } else {
      for (let i = 0; i < 4; i++) {
        xs[i] = sx + i >= 0 && sx + i < width ? sx + i : -1;
        ys[i] = sy + i >= 0 && sy + i < height ? sy + i : -1;
      }
      for (let k = 0; k < cn; k++) {
        const cv = cval[k];
        let sum = cv * COEF_SCALE;
        for (let r = 0; r < 4; r++) {
          if (ys[r] < 0) continue;
          for (let c = 0; c < 4; c++) {
            if (xs[c] < 0) continue;
            sum += (src[(ys[r] * width + xs[c]) * cn + k] - cv) * weights[w + r * 4 + c];
          }
        }
        out[o + k] = clampU8((sum + (1 << (COEF_BITS - 1))) >> COEF_BITS);
      }
    }
  });
  return out;
}

/** Bicubic affine warp of a single-channel float image; returns [dstHeight, dstWidth] float32. */
export function warpAffineCubicF32(input: WarpInput<Float32Array>, opts: WarpOptions): Float32Array {
  const { src, width, height } = input;
  if (input.channels !== 1) throw new Error('warpAffineCubicF32 takes one channel');
  const out = new Float32Array(opts.dstWidth * opts.dstHeight);
  const weights = TABLES.float;
  const cv = opts.border[0] ?? 0;
  forEachSample(opts, (d, ix, iy, tab) => {
    const sx = ix - 1;
    const sy = iy - 1;
    const w = tab * 16;
    if (sx >= 0 && sy >= 0 && sx < width - 3 && sy < height - 3) {
      let sum = 0;
      for (let r = 0; r < 4; r++) {
        const row = (sy + r) * width + sx;
        sum += src[row] * weights[w + r * 4] + src[row + 1] * weights[w + r * 4 + 1] +
          src[row + 2] * weights[w + r * 4 + 2] + src[row + 3] * weights[w + r * 4 + 3];
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
  });
  return out;
}

function clampU8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
