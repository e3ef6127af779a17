/**
 * "Found or not" for one phrase, and the parts of its mask. A phrase is found when its mask is
 * not empty and, for a bundle with a presence output, sigmoid(presence logit) > the presence
 * threshold. A phrase not found answers an empty mask (area 0, bbox zeros, score 0, 0 regions),
 * so every encoding of it is a valid empty mask.
 */
import type { PhraseMask, PresenceInput } from '../core/types.js';

/** No presence output: found is area > 0. */
export const NO_PRESENCE: PresenceInput = { logit: null, threshold: 0 };

/** sigmoid of the presence logit, or null without one. */
export function presenceProbability(presence: PresenceInput): number | null {
  return presence.logit === null ? null : 1 / (1 + Math.exp(-presence.logit));
}

/** Whether the presence probability alone rules the phrase out (before any mask work). */
export function presenceRulesOut(probability: number | null, threshold: number): boolean {
  return probability !== null && !(probability > threshold);
}

/** The answer for a phrase that names nothing here: an all-zero [height, width] mask. */
export function notFound(width: number, height: number, presence: number | null): PhraseMask {
  return { found: false, presence, regions: 0, mask: new Uint8Array(width * height), width, height, score: 0, bbox: [0, 0, 0, 0], area: 0 };
}

/**
 * Connected parts of a 0/1 [height, width] mask, 8-connectivity (pixels that touch at an edge or
 * a corner are one part). Only the bbox [x, y, w, h] is scanned.
 */
export function countRegions(mask: Uint8Array, width: number, bbox: readonly [number, number, number, number]): number {
  const [x0, y0, w, h] = bbox;
  if (w === 0 || h === 0) return 0;
  const seen = new Uint8Array(w * h); // [h, w] over the bbox
  const stack = new Int32Array(w * h); // bbox-local indices still to visit
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
