/**
 * Logits -> mask on the original image, as the reference's engine.inference does it:
 * sigmoid -> bicubic upsample to S (align_corners=True) -> inverse letterbox (cv2.warpAffine with
 * mat_inv, INTER_CUBIC, border 0) -> prob > threshold.
 */
import type { ArrayPool } from '../core/array-pool.js';
import type { LetterboxTransform, PhraseMask, PresenceInput } from '../core/types.js';
import { inverseLetterboxMatrix, letterboxMatrix, type Affine } from '../imaging/affine.js';
import { warpAffineCubicF32, type WarpRegion } from '../imaging/warp.js';
import { NO_PRESENCE, RegionCounter, notFound, presenceProbability, presenceRulesOut } from './presence.js';
import { alignCornersTaps, upsampleBicubicAlignCorners, upsampleWindow, type CubicTaps, type Window } from './upsample.js';

export { upsampleBicubicAlignCorners } from './upsample.js';

/** From `pool` when given (the caller gives it back). */
export function sigmoid(logits: Float32Array, pool?: ArrayPool): Float32Array {
  const out = pool ? pool.float32(logits.length) : new Float32Array(logits.length); // every value written
  for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-logits[i]));
  return out;
}

/** One head output row [G*G] -> probability map at the network size [S, S]. */
export function probabilityAtNetworkSize(logits: Float32Array, size: number): Float32Array {
  const grid = gridSide(logits);
  return upsampleBicubicAlignCorners(sigmoid(logits), grid, grid, size, size);
}

/** G of a [G*G] logits row. */
function gridSide(logits: Float32Array): number {
  const grid = Math.round(Math.sqrt(logits.length));
  if (grid * grid !== logits.length) throw new Error(`logits row of ${logits.length} values is not square`);
  return grid;
}


/**
 * Thresholds a probability map (strictly greater, as `pred > 0.35`) and measures the mask
 * (found = area > 0, no presence). The mask compares the unclamped values as the reference does;
 * `score` (mean probability over the mask) averages them clamped to [0, 1] (with a threshold
 * in [0, 1) the same pixels pass either way), so it stays within [0, 1] for every threshold.
 * `prob` covers `region` of the [height, width] image (the whole image when absent); the mask
 * is 0 outside the region. The regions are counted from the runs as each row is thresholded.
 */
export function thresholdMask(
  prob: Float32Array,
  width: number,
  height: number,
  threshold: number,
  region: WarpRegion = { x: 0, y: 0, width, height },
  pool?: ArrayPool,
): PhraseMask {
  const mask = pool ? pool.uint8(width * height, true) : new Uint8Array(width * height); // [height, width] 0/1
  let area = 0;
  let probSum = 0;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  const W = region.width;
  const parts = new RegionCounter(W);
  for (let ry = 0; ry < region.height; ry++) {
    const y = ry + region.y;
    const row = ry * W;
    const maskRow = y * width + region.x;
    const areaBefore = area;
    let first = W;
    let last = -1;
    let runStart = -1;
    parts.nextRow();
    for (let rx = 0; rx < W; rx++) {
      const p = prob[row + rx];
      if (p > threshold) {
        mask[maskRow + rx] = 1;
        area++;
        probSum += p < 1 ? p : 1; // the bicubic kernels overshoot past 1 at sharp edges: score stays a probability
        if (first === W) first = rx;
        last = rx;
        if (runStart < 0) runStart = rx;
      } else if (runStart >= 0) {
        parts.add(runStart, rx - 1);
        runStart = -1;
      }
    }
    if (runStart >= 0) parts.add(runStart, W - 1);
    if (area === areaBefore) continue;
    if (first + region.x < minX) minX = first + region.x;
    if (last + region.x > maxX) maxX = last + region.x;
    if (minY === height) minY = y;
    maxY = y;
  }
  const bbox: [number, number, number, number] = area > 0 ? [minX, minY, maxX - minX + 1, maxY - minY + 1] : [0, 0, 0, 0];
  return { found: area > 0, presence: null, regions: parts.regions, mask, width, height, score: area > 0 ? probSum / area : 0, bbox, area };
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
  return u1 < 0 ? null : regionOnOriginal({ x0: u0, y0: v0, x1: u1, y1: v1 }, transform, letterboxMatrix(transform));
}

/** Network pixels [u0, u1] x [v0, v1] -> the original pixels whose 4x4 source windows touch them (2-pixel margins). */
function regionOnOriginal(box: Window, transform: LetterboxTransform, m: Affine): WarpRegion | null {
  // m: original -> network (letterboxMatrix)
  const x0 = Math.max(0, Math.floor((box.x0 - 2 - m[2]) / m[0]) - 2);
  const x1 = Math.min(transform.width - 1, Math.ceil((box.x1 + 2 - m[2]) / m[0]) + 2);
  const y0 = Math.max(0, Math.floor((box.y0 - 2 - m[5]) / m[4]) - 2);
  const y1 = Math.min(transform.height - 1, Math.ceil((box.y1 + 2 - m[5]) / m[4]) + 2);
  if (x1 < x0 || y1 < y0) return null;
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * Bounds of the align-corners upsample's 2-D weights (A = -0.75, per 4x4 taps): the positive ones
 * sum to at most 1.1875^2 + 0.1875^2 = 1.41 and the negative ones to at least -2 * 1.1875 * 0.1875
 * = -0.445 (half-pixel phase). The cells (sigmoids) are >= 0, so an upsampled value lies within
 * [-0.5, 1.5] x the largest cell among its taps.
 */
const UPSAMPLE_POSITIVE_BOUND = 1.5;
const UPSAMPLE_NEGATIVE_BOUND = 0.5;

/**
 * The probability at the network size where the warp can need it, and candidateRegion of it,
 * without upsampling the whole map: the same region or a larger one (so the same mask), and the
 * same values wherever the warp of that region reads (0 elsewhere, which only zero weights meet).
 * Cells no larger than `hot` cannot lift an upsampled value above 1.5 * hot, the lowest floor
 * candidateRegion can use; so only the outputs whose taps reach a hotter cell are upsampled, and
 * their lowest value (or -0.5 * hot, the lowest any other can be) bounds candidateRegion's.
 * A map with NaN (which zero weights do not cancel) is upsampled whole.
 */
export function probabilityAndRegion(
  logits: Float32Array,
  transform: LetterboxTransform,
  threshold: number,
  pool?: ArrayPool,
): { prob: Float32Array; region: WarpRegion | null } {
  const cells = sigmoid(logits, pool); // [G, G]
  try {
    return probabilityAndRegionOf(cells, transform, threshold, pool);
  } finally {
    pool?.give(cells);
  }
}

/** probabilityAndRegion from the cells (the logits' sigmoid); prob from `pool` when given. */
function probabilityAndRegionOf(cells: Float32Array, transform: LetterboxTransform, threshold: number, pool?: ArrayPool): { prob: Float32Array; region: WarpRegion | null } {
  const S = transform.size;
  const grid = gridSide(cells);
  let highest = 0;
  let nan = false;
  for (let i = 0; i < cells.length; i++) {
    if (cells[i] > highest) highest = cells[i];
    else if (cells[i] !== cells[i]) nan = true;
  }
  if (nan) {
    const prob = upsampleBicubicAlignCorners(cells, grid, grid, S, S);
    return { prob, region: candidateRegion(prob, transform, threshold) };
  }
  const prob = pool ? pool.float32(S * S, true) : new Float32Array(S * S); // [S, S], 0 where not upsampled
  const lowestFloor = (threshold - NEGATIVE_WEIGHT_BOUND * UPSAMPLE_NEGATIVE_BOUND * highest) / POSITIVE_WEIGHT_BOUND;
  const hot = lowestFloor / UPSAMPLE_POSITIVE_BOUND;
  const hotCells = boxAbove(cells, grid, grid, hot, { x0: 0, y0: 0, x1: grid - 1, y1: grid - 1 });
  if (!hotCells) return { prob, region: null };
  const taps = alignCornersTaps(grid, S);
  const window = { x0: firstTouching(taps, hotCells.x0), y0: firstTouching(taps, hotCells.y0), x1: lastTouching(taps, hotCells.x1), y1: lastTouching(taps, hotCells.y1) };
  upsampleWindow(cells, grid, taps, taps, prob, S, window, pool);
  let lowest = Math.min(0, -UPSAMPLE_NEGATIVE_BOUND * hot);
  for (let v = window.y0; v <= window.y1; v++) for (let u = window.x0; u <= window.x1; u++) if (prob[v * S + u] < lowest) lowest = prob[v * S + u];
  const floor = (threshold - NEGATIVE_WEIGHT_BOUND * -lowest) / POSITIVE_WEIGHT_BOUND;
  const above = boxAbove(prob, S, S, floor, window);
  const m = letterboxMatrix(transform); // original -> network
  const region = above && regionOnOriginal(above, transform, m);
  if (!region) return { prob, region: null };
  // The network pixels the warp of the region reads (fixed-point positions within 1/16 pixel of the matrix's).
  const reads = {
    x0: Math.max(0, Math.floor(m[0] * region.x + m[2]) - 4),
    y0: Math.max(0, Math.floor(m[4] * region.y + m[5]) - 4),
    x1: Math.min(S - 1, Math.ceil(m[0] * (region.x + region.width - 1) + m[2]) + 4),
    y1: Math.min(S - 1, Math.ceil(m[4] * (region.y + region.height - 1) + m[5]) + 4),
  };
  if (reads.x0 < window.x0 || reads.y0 < window.y0 || reads.x1 > window.x1 || reads.y1 > window.y1) {
    upsampleWindow(cells, grid, taps, taps, prob, S, {
      x0: Math.min(reads.x0, window.x0),
      y0: Math.min(reads.y0, window.y0),
      x1: Math.max(reads.x1, window.x1),
      y1: Math.max(reads.y1, window.y1),
    }, pool);
  }
  return { prob, region };
}

/** The box of the values above `floor` in `within` of a [height, width] map; null when none is. */
function boxAbove(values: Float32Array, width: number, _height: number, floor: number, within: Window): Window | null {
  let x0 = width;
  let y0 = -1;
  let x1 = -1;
  let y1 = -1;
  for (let y = within.y0; y <= within.y1; y++) {
    const row = y * width;
    let first = -1;
    for (let x = within.x0; x <= within.x1; x++) {
      if (values[row + x] > floor) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    let last = first;
    for (let x = within.x1; x > first; x--) {
      if (values[row + x] > floor) {
        last = x;
        break;
      }
    }
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
    if (y0 < 0) y0 = y;
    y1 = y;
  }
  return y0 < 0 ? null : { x0, y0, x1, y1 };
}

/** The first output whose taps reach input `cell` or beyond. */
function firstTouching(taps: CubicTaps, cell: number): number {
  let o = 0;
  while (taps.index[o * 4 + 3] < cell) o++;
  return o;
}

/** The last output whose taps reach input `cell` or before. */
function lastTouching(taps: CubicTaps, cell: number): number {
  let o = taps.index.length / 4 - 1;
  while (taps.index[o * 4] > cell) o--;
  return o;
}

/**
 * The whole post-processing of one phrase: logits row [G*G] (and its presence logit, if the
 * bundle has one) -> PhraseMask on the original image. A phrase the presence rules out costs no
 * mask work. The upsample is computed only where the warp can read it and the inverse letterbox
 * only on the candidate region (probabilityAndRegion: same mask, far less work on a 12 MP photo
 * with a small object). `pool`: the scratch arrays come from it and go back to it before the
 * call returns (it is synchronous: no other request can see them); the mask comes from it too,
 * and the caller gives it back once the mask is encoded.
 */
export function logitsToPhraseMask(
  logits: Float32Array,
  transform: LetterboxTransform,
  threshold: number,
  presenceInput: PresenceInput = NO_PRESENCE,
  pool?: ArrayPool,
): PhraseMask {
  const presence = presenceProbability(presenceInput);
  if (presenceRulesOut(presence, presenceInput.threshold)) return notFound(transform.width, transform.height, presence, pool);
  const { prob, region } = probabilityAndRegion(logits, transform, threshold, pool); // prob [S, S]
  if (!region) {
    pool?.give(prob);
    return notFound(transform.width, transform.height, presence, pool);
  }
  const probRegion = warpAffineCubicF32(
    { src: prob, width: transform.size, height: transform.size, channels: 1 },
    { matrix: inverseLetterboxMatrix(transform), dstWidth: transform.width, dstHeight: transform.height, border: [0] },
    region,
    pool,
  );
  pool?.give(prob);
  const mask = thresholdMask(probRegion, transform.width, transform.height, threshold, region, pool);
  pool?.give(probRegion);
  return { ...mask, presence };
}
