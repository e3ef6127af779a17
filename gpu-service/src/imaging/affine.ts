/**
 * The reference's letterbox geometry, reproduced to the bit where it matters: CRIS builds the
 * affine matrix with cv2.getAffineTransform on float32 points (so the matrix is not the analytic
 * one), and cv2.warpAffine inverts the matrix it is given. Matrices are 2x3 row-major doubles.
 */
import type { LetterboxTransform } from '../core/types.js';

export type Affine = [number, number, number, number, number, number];
type Point = [number, number];

/** Analytic letterbox: scale = min(S/h, S/w), centred with fractional offsets. */
export function letterboxTransform(width: number, height: number, size: number): LetterboxTransform {
  const scale = Math.min(size / height, size / width);
  return {
    scale,
    offsetX: (size - width * scale) / 2,
    offsetY: (size - height * scale) / 2,
    width,
    height,
    size,
  };
}

/** The three point pairs of CRIS getTransformMat, as float32 (np.float32 arrays). */
function letterboxPoints(t: LetterboxTransform): { src: Point[]; dst: Point[] } {
  const f = Math.fround;
  const newW = t.width * t.scale;
  const newH = t.height * t.scale;
  const biasX = (t.size - newW) / 2;
  const biasY = (t.size - newH) / 2;
  return {
    src: [
      [0, 0],
      [f(t.width), 0],
      [0, f(t.height)],
    ],
    dst: [
      [f(biasX), f(biasY)],
      [f(newW + biasX), f(biasY)],
      [f(biasX), f(newH + biasY)],
    ],
  };
}

/** `mat` of the reference: original -> network pixels. */
export function letterboxMatrix(t: LetterboxTransform): Affine {
  const { src, dst } = letterboxPoints(t);
  return getAffineTransform(src, dst);
}

/** `mat_inv` of the reference: network -> original pixels. */
export function inverseLetterboxMatrix(t: LetterboxTransform): Affine {
  const { src, dst } = letterboxPoints(t);
  return getAffineTransform(dst, src);
}

/** cv2.getAffineTransform: the 6x6 system solved by OpenCV's LU with partial pivoting. */
export function getAffineTransform(src: Point[], dst: Point[]): Affine {
  const a = new Float64Array(36); // [6, 6] row-major
  const b = new Float64Array(6);
  for (let i = 0; i < 3; i++) {
    const j = i * 12;
    const k = i * 12 + 6;
    a[j] = a[k + 3] = src[i][0];
    a[j + 1] = a[k + 4] = src[i][1];
    a[j + 2] = a[k + 5] = 1;
    b[i * 2] = dst[i][0];
    b[i * 2 + 1] = dst[i][1];
  }
  luSolve(a, b, 6);
  return Array.from(b) as Affine;
}

/** OpenCV's LUImpl (in place; b receives the solution). */
function luSolve(a: Float64Array, b: Float64Array, m: number): void {
  for (let i = 0; i < m; i++) {
    let k = i;
    for (let j = i + 1; j < m; j++) if (Math.abs(a[j * m + i]) > Math.abs(a[k * m + i])) k = j;
    if (Math.abs(a[k * m + i]) < Number.EPSILON * 100) throw new Error('degenerate affine transform');
    if (k !== i) {
      for (let j = i; j < m; j++) [a[i * m + j], a[k * m + j]] = [a[k * m + j], a[i * m + j]];
      [b[i], b[k]] = [b[k], b[i]];
    }
    const d = -1 / a[i * m + i];
    for (let j = i + 1; j < m; j++) {
      const alpha = a[j * m + i] * d;
      for (let c = i + 1; c < m; c++) a[j * m + c] += alpha * a[i * m + c];
      b[j] += alpha * b[i];
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i];
    for (let c = i + 1; c < m; c++) s -= a[i * m + c] * b[c];
    b[i] = s / a[i * m + i];
  }
}

/** The inversion cv2.warpAffine applies to the matrix it is given (without WARP_INVERSE_MAP). */
export function invertAffine(m: Affine): Affine {
  let d = m[0] * m[4] - m[1] * m[3];
  d = d !== 0 ? 1 / d : 0;
  const a11 = m[4] * d;
  const a22 = m[0] * d;
  const m1 = -m[1] * d;
  const m3 = -m[3] * d;
  const b1 = -a11 * m[2] - m1 * m[5];
  const b2 = -m3 * m[2] - a22 * m[5];
  return [a11, m1, b1, m3, a22, b2];
}
