/**
 * Logits -> mask on the original image, as the reference's engine.inference does it:
 * sigmoid -> bicubic upsample to S (align_corners=True) -> inverse letterbox (cv2.warpAffine with
 * mat_inv, INTER_CUBIC, border 0) -> prob > threshold.
 */
import type { LetterboxTransform, PhraseMask, PresenceInput } from '../core/types.js';
import { inverseLetterboxMatrix, letterboxMatrix } from '../imaging/affine.js';
import { warpAffineCubicF32, type WarpRegion } from '../imaging/warp.js';
import { countRegions, NO_PRESENCE, notFound, presenceProbability, presenceRulesOut } from './presence.js';

export function sigmoid(logits: Float32Array): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-logits[i]));
  return out;
}

interface CubicTaps {
  /** [out, 4] source indices, clamped to the input. */
  index: Int32Array;
  /** [out, 4] weights. */
  weight: Float64Array;
}

/** torch's bicubic (A = -0.75) taps for align_corners=True along one axis (float32 coordinates). */
function alignCornersTaps(inSize: number, outSize: number): CubicTaps {
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

/** [inH, inW] -> [outH, outW] bicubic, align_corners=True (F.interpolate). */
export function upsampleBicubicAlignCorners(
  src: Float32Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
): Float32Array {
  const tx = alignCornersTaps(inW, outW);
  const ty = alignCornersTaps(inH, outH);
  const xi = tx.index;
  const xw = tx.weight;
  // Each sum adds its four products left to right from 0, in float64: the taps written out.
  const rows = new Float64Array(inH * outW); // [inH, outW]: horizontal pass first
  for (let y = 0; y < inH; y++) {
    const s = y * inW;
    const o = y * outW;
    for (let x = 0, t = 0; x < outW; x++, t += 4) {
      rows[o + x] = 0 + xw[t] * src[s + xi[t]] + xw[t + 1] * src[s + xi[t + 1]] + xw[t + 2] * src[s + xi[t + 2]] + xw[t + 3] * src[s + xi[t + 3]];
    }
  }
  const out = new Float32Array(outH * outW); // [outH, outW]
  for (let y = 0, t = 0; y < outH; y++, t += 4) {
    const w0 = ty.weight[t];
    const w1 = ty.weight[t + 1];
    const w2 = ty.weight[t + 2];
    const w3 = ty.weight[t + 3];
    const r0 = ty.index[t] * outW;
    const r1 = ty.index[t + 1] * outW;
    const r2 = ty.index[t + 2] * outW;
    const r3 = ty.index[t + 3] * outW;
    const o = y * outW;
    for (let x = 0; x < outW; x++) out[o + x] = 0 + w0 * rows[r0 + x] + w1 * rows[r1 + x] + w2 * rows[r2 + x] + w3 * rows[r3 + x];
  }
  return out;
}

/** One head output row [G*G] -> probability map at the network size [S, S]. */
export function probabilityAtNetworkSize(logits: Float32Array, size: number): Float32Array {
  const grid = Math.round(Math.sqrt(logits.length));
  if (grid * grid !== logits.length) throw new Error(`logits row of ${logits.length} values is not square`);
  return upsampleBicubicAlignCorners(sigmoid(logits), grid, grid, size, size);
}


/**
 * Thresholds a probability map (strictly greater, as `pred > 0.35`) and measures the mask
 * (found = area > 0, no presence). The mask compares the unclamped values as the reference does;
 * `score` (mean probability over the mask) averages them clamped to [0, 1] (with a threshold
 * in [0, 1) the same pixels pass either way), so it stays within [0, 1] for every threshold.
 * `prob` covers `region` of the [height, width] image (the whole image when absent); the mask
 * is 0 outside the region.
 */
export function thresholdMask(
  prob: Float32Array,
  width: number,
  height: number,
  threshold: number,
  region: WarpRegion = { x: 0, y: 0, width, height },
): PhraseMask {
  const mask = new Uint8Array(width * height); // [height, width] 0/1
  let area = 0;
  let probSum = 0;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  const W = region.width;
  for (let ry = 0; ry < region.height; ry++) {
    const y = ry + region.y;
    const row = ry * W;
    const maskRow = y * width + region.x;
    const areaBefore = area;
    let first = W;
    let last = -1;
    for (let rx = 0; rx < W; rx++) {
      const p = prob[row + rx];
      if (p > threshold) {
        mask[maskRow + rx] = 1;
        area++;
        probSum += p < 1 ? p : 1; // the bicubic kernels overshoot past 1 at sharp edges: score stays a probability
        if (first === W) first = rx;
        last = rx;
      }
    }
    if (area === areaBefore) continue;
    if (first + region.x < minX) minX = first + region.x;
    if (last + region.x > maxX) maxX = last + region.x;
    if (minY === height) minY = y;
    maxY = y;
  }
  const bbox: [number, number, number, number] = area > 0 ? [minX, minY, maxX - minX + 1, maxY - minY + 1] : [0, 0, 0, 0];
  const regions = countRegions(mask, width, bbox);
  return { found: area > 0, presence: null, regions, mask, width, height, score: area > 0 ? probSum / area : 0, bbox, area };
}

/**
 * Bounds of the bicubic warp's weights (Keys, a = -0.75), per 4x4 window: the positive weights sum
 * to at most 1.445 and the negative ones to at most -0.445 (both at the half-pixel phase). So a
 * warped value is at most 1.445 * (largest value in its window) + 0.445 * (largest undershoot
 * below 0 anywhere, which the upsampled map can have).
 */
const POSITIVE_WEIGHT_BOUND = 1.5;
const NEGATIVE_WEIGHT_BOUND = 0.5;

/**
 * The part of the original image where the warped probability can exceed `threshold`: pixels
 * whose 4x4 source window touches a network pixel above the bound above, with a 2-pixel margin
 * for the fixed-point sampling. Outside it the full warp is below the threshold, so the mask
 * computed on the region alone equals the mask computed on the whole image. null: nothing can.
 */
export function candidateRegion(prob: Float32Array, transform: LetterboxTransform, threshold: number): WarpRegion | null {
  const S = transform.size;
  let lowest = 0;
  for (let i = 0; i < S * S; i++) if (prob[i] < lowest) lowest = prob[i];
  const floor = (threshold - NEGATIVE_WEIGHT_BOUND * -lowest) / POSITIVE_WEIGHT_BOUND;
  let u0 = S;
  let v0 = S;
  let u1 = -1;
  let v1 = -1;
  for (let v = 0; v < S; v++) {
    for (let u = 0; u < S; u++) {
      if (prob[v * S + u] > floor) {
        if (u < u0) u0 = u;
        if (u > u1) u1 = u;
        if (v < v0) v0 = v;
        v1 = v;
      }
    }
  }
  if (u1 < 0) return null;
  const m = letterboxMatrix(transform); // original -> network
  const x0 = Math.max(0, Math.floor((u0 - 2 - m[2]) / m[0]) - 2);
  const x1 = Math.min(transform.width - 1, Math.ceil((u1 + 2 - m[2]) / m[0]) + 2);
  const y0 = Math.max(0, Math.floor((v0 - 2 - m[5]) / m[4]) - 2);
  const y1 = Math.min(transform.height - 1, Math.ceil((v1 + 2 - m[5]) / m[4]) + 2);
  if (x1 < x0 || y1 < y0) return null;
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * The whole post-processing of one phrase: logits row [G*G] (and its presence logit, if the
 * bundle has one) -> PhraseMask on the original image. A phrase the presence rules out costs no
 * mask work. The inverse letterbox is computed only on candidateRegion (same mask, far less work
 * on a 12 MP photo with a small object).
 */
export function logitsToPhraseMask(
  logits: Float32Array,
  transform: LetterboxTransform,
  threshold: number,
  presenceInput: PresenceInput = NO_PRESENCE,
): PhraseMask {
  const presence = presenceProbability(presenceInput);
  if (presenceRulesOut(presence, presenceInput.threshold)) return notFound(transform.width, transform.height, presence);
  const prob = probabilityAtNetworkSize(logits, transform.size); // [S, S]
  const region = candidateRegion(prob, transform, threshold);
  if (!region) return notFound(transform.width, transform.height, presence);
  const probRegion = warpAffineCubicF32(
    { src: prob, width: transform.size, height: transform.size, channels: 1 },
    { matrix: inverseLetterboxMatrix(transform), dstWidth: transform.width, dstHeight: transform.height, border: [0] },
    region,
  );
  return { ...thresholdMask(probRegion, transform.width, transform.height, threshold, region), presence };
}
