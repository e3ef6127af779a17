/**
 * OpenCV's bicubic interpolation tables (imgproc/imgwarp.cpp): the Keys kernel (a = -0.75) in
 * float32 at 32 sub-pixel positions, the 2-D products per (fy, fx), and their 15-bit fixed-point
 * form whose rounding error OpenCV moves onto one central weight so that they sum to 1 exactly.
 */

export const INTER_BITS = 5;
export const TAB_SIZE = 1 << INTER_BITS; // 32 sub-pixel positions
export const AB_BITS = 10;
export const AB_SCALE = 1 << AB_BITS;
export const ROUND_DELTA = AB_SCALE / TAB_SIZE / 2;
export const COEF_BITS = 15;
export const COEF_SCALE = 1 << COEF_BITS;

/** Round half to even, as cvRound / saturate_cast<int> do. */
export function cvRound(value: number): number {
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

export interface CubicTables {
  /** [32, 4] 1-D weights per sub-pixel position. */
  oneD: Float32Array;
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
  const flat = new Float32Array(TAB_SIZE * 4);
  oneD.forEach((w, i) => flat.set(w, i * 4));
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
  return { oneD: flat, float, fixed };
}

export const TABLES: CubicTables = buildTables(); // constants, 1024 x 16 weights
