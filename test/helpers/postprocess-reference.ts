/**
 * The post-processing of one phrase as the service computed it before the fast path: the parts
 * that changed kept verbatim (the whole-map upsample, thresholdMask, the flood-fill countRegions,
 * the separable float warp's loops, maskToRuns, the polygon box scan and edge construction), the
 * rest imported. The tests check that the fast path answers the same masks, numbers and
 * encodings, bit for bit. Not used by the service.
 */
import type { LetterboxTransform, PhraseMask } from '../../gpu-service/src/core/types.js';
import { inverseLetterboxMatrix } from '../../gpu-service/src/imaging/affine.js';
import { axisAlignedSamples, axisTaps, type WarpInput, type WarpOptions, type WarpRegion } from '../../gpu-service/src/imaging/warp.js';
import { POLYGON_TOLERANCE, simplifyRing, type MultiPolygonCoordinates } from '../../gpu-service/src/masks/polygon.js';
import { candidateRegion, sigmoid } from '../../gpu-service/src/masks/postprocess.js';
import { alignCornersTaps } from '../../gpu-service/src/masks/upsample.js';
import { ringsFromEdges } from '../../gpu-service/src/masks/polygon-trace.js';

export function referenceUpsample(src: Float32Array, inW: number, inH: number, outW: number, outH: number): Float32Array {
  const tx = alignCornersTaps(inW, outW);
  const ty = alignCornersTaps(inH, outH);
  const rows = new Float64Array(inH * outW);
  for (let y = 0; y < inH; y++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let j = 0; j < 4; j++) sum += tx.weight[x * 4 + j] * src[y * inW + tx.index[x * 4 + j]];
      rows[y * outW + x] = sum;
    }
  }
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let j = 0; j < 4; j++) sum += ty.weight[y * 4 + j] * rows[ty.index[y * 4 + j] * outW + x];
      out[y * outW + x] = sum;
    }
  }
  return out;
}

export function referenceProbabilityAtNetworkSize(logits: Float32Array, size: number): Float32Array {
  const grid = Math.round(Math.sqrt(logits.length));
  return referenceUpsample(sigmoid(logits), grid, grid, size, size);
}

export function referenceCountRegions(mask: Uint8Array, width: number, bbox: readonly [number, number, number, number]): number {
  const [x0, y0, w, h] = bbox;
  if (w === 0 || h === 0) return 0;
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  let regions = 0;
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || !mask[(y0 + Math.floor(start / w)) * width + x0 + (start % w)]) continue;
    regions++;
    seen[start] = 1;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const at = stack[--top];
      const ax = at % w;
      const ay = Math.floor(at / w);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = ay + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = ax + dx;
          if (nx < 0 || nx >= w) continue;
          const next = ny * w + nx;
          if (seen[next] || !mask[(y0 + ny) * width + x0 + nx]) continue;
          seen[next] = 1;
          stack[top++] = next;
        }
      }
    }
  }
  return regions;
}

export function referenceThresholdMask(
  prob: Float32Array,
  width: number,
  height: number,
  threshold: number,
  region: WarpRegion = { x: 0, y: 0, width, height },
): PhraseMask {
  const mask = new Uint8Array(width * height);
  let area = 0;
  let probSum = 0;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let ry = 0; ry < region.height; ry++) {
    const y = ry + region.y;
    for (let rx = 0; rx < region.width; rx++) {
      const p = prob[ry * region.width + rx];
      if (p > threshold) {
        const x = rx + region.x;
        mask[y * width + x] = 1;
        area++;
        probSum += p < 1 ? p : 1;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  const bbox: [number, number, number, number] = area > 0 ? [minX, minY, maxX - minX + 1, maxY - minY + 1] : [0, 0, 0, 0];
  const regions = referenceCountRegions(mask, width, bbox);
  return { found: area > 0, presence: null, regions, mask, width, height, score: area > 0 ? probSum / area : 0, bbox, area };
}

/** The separable float warp over a region (axis-aligned maps only). */
export function referenceWarpSeparableF32(input: WarpInput<Float32Array>, opts: WarpOptions, region: WarpRegion): Float32Array {
  const samples = axisAlignedSamples(opts);
  if (!samples) throw new Error('referenceWarpSeparableF32: the map is not axis-aligned');
  const { src, width, height } = input;
  const cv = opts.border[0] ?? 0;
  const W = region.width;
  const tx = axisTaps(samples.x.subarray(region.x, region.x + region.width), width);
  const ty = axisTaps(samples.y.subarray(region.y, region.y + region.height), height);
  const rows = new Float32Array(height * W);
  for (let sy = 0; sy < height; sy++) {
    const srcRow = sy * width;
    const outRow = sy * W;
    for (let x = 0; x < W; x++) {
      const t = x * 4;
      rows[outRow + x] =
        tx.weight[t] * (src[srcRow + tx.index[t]] - cv) +
        tx.weight[t + 1] * (src[srcRow + tx.index[t + 1]] - cv) +
        tx.weight[t + 2] * (src[srcRow + tx.index[t + 2]] - cv) +
        tx.weight[t + 3] * (src[srcRow + tx.index[t + 3]] - cv);
    }
  }
  const out = new Float32Array(W * region.height);
  for (let y = 0; y < region.height; y++) {
    const t = y * 4;
    const w0 = ty.weight[t];
    const w1 = ty.weight[t + 1];
    const w2 = ty.weight[t + 2];
    const w3 = ty.weight[t + 3];
    const r0 = ty.index[t] * W;
    const r1 = ty.index[t + 1] * W;
    const r2 = ty.index[t + 2] * W;
    const r3 = ty.index[t + 3] * W;
    const o = y * W;
    for (let x = 0; x < W; x++) out[o + x] = cv + w0 * rows[r0 + x] + w1 * rows[r1 + x] + w2 * rows[r2 + x] + w3 * rows[r3 + x];
  }
  return out;
}

/** logitsToPhraseMask as it was (no presence: the fast path shares presence.ts unchanged). */
export function referenceLogitsToPhraseMask(logits: Float32Array, transform: LetterboxTransform, threshold: number): PhraseMask {
  const empty = (): PhraseMask => ({ found: false, presence: null, regions: 0, mask: new Uint8Array(transform.width * transform.height), width: transform.width, height: transform.height, score: 0, bbox: [0, 0, 0, 0], area: 0 });
  const prob = referenceProbabilityAtNetworkSize(logits, transform.size);
  const region = candidateRegion(prob, transform, threshold);
  if (!region) return empty();
  const probRegion = referenceWarpSeparableF32(
    { src: prob, width: transform.size, height: transform.size, channels: 1 },
    { matrix: inverseLetterboxMatrix(transform), dstWidth: transform.width, dstHeight: transform.height, border: [0] },
    region,
  );
  return referenceThresholdMask(probRegion, transform.width, transform.height, threshold, region);
}

/** maskToRuns as it was: per-column change points over the whole mask. */
export function referenceMaskToRuns(mask: Uint8Array, width: number, height: number): number[] {
  const changes: number[][] = Array.from({ length: width }, () => []);
  for (let x = 0; x < width; x++) {
    const before = x === 0 ? 0 : mask[(height - 1) * width + x - 1] ? 1 : 0;
    if ((mask[x] ? 1 : 0) !== before) changes[x].push(0);
  }
  for (let y = 1; y < height; y++) {
    const row = y * width;
    const prev = row - width;
    for (let x = 0; x < width; x++) {
      if ((mask[row + x] ? 1 : 0) !== (mask[prev + x] ? 1 : 0)) changes[x].push(y);
    }
  }
  const runs: number[] = [];
  let last = 0;
  for (let x = 0; x < width; x++) {
    for (const y of changes[x]) {
      const position = x * height + y;
      runs.push(position - last);
      last = position;
    }
  }
  runs.push(width * height - last);
  return runs;
}

/** maskToPolygons as it was: the bbox by a scan of every pixel, then the same tracing and simplification. */
export function referenceMaskToPolygons(mask: Uint8Array, width: number, height: number): MultiPolygonCoordinates {
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x]) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        maxY = y;
      }
    }
  }
  if (maxX < 0) return [];
  const traced = referenceTracePolygons(mask, width, minX, minY, maxX - minX + 1, maxY - minY + 1);
  return traced.map((rings) => rings.map((ring) => simplifyRing(ring, POLYGON_TOLERANCE)));
}

/** tracePolygons as it was: the edges from every pair of neighbouring pixels of the padded box, rings from every vertex. */
export function referenceTracePolygons(mask: Uint8Array, width: number, x0: number, y0: number, w: number, h: number) {
  const pw = w + 2;
  const padded = new Uint8Array(pw * (h + 2));
  for (let y = 0; y < h; y++) padded.set(mask.subarray((y + y0) * width + x0, (y + y0) * width + x0 + w), (y + 1) * pw + 1);
  const vw = w + 1;
  const out = new Uint8Array(vw * (h + 1));
  for (let y = 0; y <= h; y++) {
    const above = y * pw + 1;
    const below = above + pw;
    for (let x = 0; x < w; x++) {
      const a = padded[above + x];
      const b = padded[below + x];
      if (a === b) continue;
      if (b) out[y * vw + x] |= 1 << 0;
      else out[y * vw + x + 1] |= 1 << 2;
    }
  }
  for (let y = 0; y < h; y++) {
    const row = (y + 1) * pw;
    for (let x = 0; x <= w; x++) {
      const left = padded[row + x];
      const right = padded[row + x + 1];
      if (left === right) continue;
      if (right) out[(y + 1) * vw + x] |= 1 << 3;
      else out[y * vw + x] |= 1 << 1;
    }
  }
  const vertices = Int32Array.from({ length: out.length }, (_, v) => v);
  return ringsFromEdges({ out, vertices }, () => padded, x0, y0, w, h);
}
