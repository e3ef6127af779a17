/**
 * torch's F.interpolate(mode='bicubic', align_corners=True) on a float32 map, in float64 sums
 * (rows first, then columns), over the whole output or over a window of it: each output value is
 * computed the same way whichever window holds it.
 */
import type { ArrayPool } from '../core/array-pool.js';

export interface CubicTaps {
  /** [out, 4] source indices, clamped to the input. */
  index: Int32Array;
  /** [out, 4] weights. */
  weight: Float64Array;
}

/** torch's bicubic (A = -0.75) taps for align_corners=True along one axis (float32 coordinates). */
export function alignCornersTaps(inSize: number, outSize: number): CubicTaps {
  const f = Math.fround;
  const A = -0.75;
  const conv1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const conv2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  const scale = outSize > 1 ? f((inSize - 1) / (outSize - 1)) : 0;
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const real = f(scale * o);
    const base = Math.min(Math.max(Math.floor(real), 0), inSize - 1);
    const t = Math.min(Math.max(f(real - base), 0), 1);
    const w = [conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t)];
    for (let j = 0; j < 4; j++) {
      index[o * 4 + j] = Math.min(Math.max(base - 1 + j, 0), inSize - 1);
      weight[o * 4 + j] = w[j];
    }
  }
  return { index, weight };
}

/** Output rows [y0, y1] x columns [x0, x1], inclusive. */
export interface Window {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** [inH, inW] -> [outH, outW] bicubic, align_corners=True (F.interpolate). */
export function upsampleBicubicAlignCorners(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
): Float32Array {
  const out = new Float32Array(outH * outW); // [outH, outW]
  upsampleWindow(src, inW, alignCornersTaps(inW, outW), alignCornersTaps(inH, outH), out, outW, { x0: 0, y0: 0, x1: outW - 1, y1: outH - 1 });
  return out;
}

/**
 * The upsample's values inside `window` of `out` ([outH, outW]; `tx`, `ty` the taps of each axis),
 * left as they are elsewhere. Each sum adds its four products left to right from 0, in float64.
 * `pool`: where the horizontal pass's scratch comes from (given back before the call returns).
 */
export function upsampleWindow(src: Float32Array, inW: number, tx: CubicTaps, ty: CubicTaps, out: Float32Array, outW: number, window: Window, pool?: ArrayPool): void {
  const { x0, y0, x1, y1 } = window;
  const xi = tx.index;
  const xw = tx.weight;
  const w = x1 - x0 + 1;
  // The input rows the window's vertical taps read (monotone in the output row).
  const first = ty.index[y0 * 4];
  const last = ty.index[y1 * 4 + 3];
  const size = (last - first + 1) * w;
  const rows = pool ? pool.float64(size) : new Float64Array(size); // [last - first + 1, w]: horizontal pass first, every value written
  for (let y = first; y <= last; y++) {
    const s = y * inW;
    const o = (y - first) * w - x0;
    for (let x = x0, t = x0 * 4; x <= x1; x++, t += 4) {
      rows[o + x] = 0 + xw[t] * src[s + xi[t]] + xw[t + 1] * src[s + xi[t + 1]] + xw[t + 2] * src[s + xi[t + 2]] + xw[t + 3] * src[s + xi[t + 3]];
    }
  }
  for (let y = y0, t = y0 * 4; y <= y1; y++, t += 4) {
    const w0 = ty.weight[t];
    const w1 = ty.weight[t + 1];
    const w2 = ty.weight[t + 2];
    const w3 = ty.weight[t + 3];
    const r0 = (ty.index[t] - first) * w;
    const r1 = (ty.index[t + 1] - first) * w;
    const r2 = (ty.index[t + 2] - first) * w;
    const r3 = (ty.index[t + 3] - first) * w;
    const o = y * outW;
    for (let x = 0; x < w; x++) out[o + x0 + x] = 0 + w0 * rows[r0 + x] + w1 * rows[r1 + x] + w2 * rows[r2 + x] + w3 * rows[r3 + x];
  }
  pool?.give(rows);
}
