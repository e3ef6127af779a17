/**
 * "Found or not" for one phrase, and the parts of its mask. A phrase is found when its mask is
 * not empty and, for a bundle with a presence output, sigmoid(presence logit) > the presence
 * threshold. A phrase not found answers an empty mask (area 0, bbox zeros, score 0, 0 regions),
 * so every encoding of it is a valid empty mask.
 */
import type { ArrayPool } from '../core/array-pool.js';
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
export function notFound(width: number, height: number, presence: number | null, pool?: ArrayPool): PhraseMask {
  const mask = pool ? pool.uint8(width * height, true) : new Uint8Array(width * height);
  return { found: false, presence, regions: 0, mask, width, height, score: 0, bbox: [0, 0, 0, 0], area: 0 };
}

/**
 * Connected parts of a 0/1 [height, width] mask, 8-connectivity (pixels that touch at an edge or
 * a corner are one part). Only the bbox [x, y, w, h] is scanned, row by row, its runs counted
 * by a RegionCounter.
 */
export function countRegions(mask: Uint8Array, width: number, bbox: readonly [number, number, number, number]): number {
  const [x0, y0, w, h] = bbox;
  if (w === 0 || h === 0) return 0;
  const counter = new RegionCounter(w);
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * width + x0;
    counter.nextRow();
    for (let x = 0; x < w; x++) {
      if (!mask[row + x]) continue;
      const start = x;
      while (x + 1 < w && mask[row + x + 1]) x++;
      counter.add(start, x);
    }
  }
  return counter.regions;
}

/**
 * 8-connected parts of the runs of set pixels it is given, row after row (every row, empty ones
 * too: nextRow) and left to right within a row: each run is joined (union-find) with the runs of
 * the row above that it touches, diagonally included; the parts are the runs less the joins.
 */
export class RegionCounter {
  private runs: RowRuns;
  private joins = 0;
  private above = 0; // the next run of the row above that may touch
  private here = 0; // the first run of this row

  constructor(width: number) {
    this.runs = new RowRuns(Math.max(64, 2 * width));
  }

  nextRow(): void {
    this.above = this.here;
    this.here = this.runs.count;
  }

  /** A run of set pixels [start, end] (inclusive columns). */
  add(start: number, end: number): void {
    if (this.runs.count === this.runs.capacity) this.runs = this.runs.grown();
    const runs = this.runs;
    const here = this.here;
    const run = runs.add(start, end);
    // Runs above, in order, that touch [start - 1, end + 1]: join each.
    let above = this.above;
    while (above < here && runs.end[above] < start - 1) above++;
    for (let a = above; a < here && runs.start[a] <= end + 1; a++) if (runs.union(a, run)) this.joins++;
    // The last run above that reached past this one may touch the next run of this row too.
    while (above < here && runs.end[above] <= end) above++;
    this.above = above;
  }

  get regions(): number {
    return this.runs.count - this.joins;
  }
}

/** Row runs [start, end] (inclusive, bbox columns) with a union-find over them. */
class RowRuns {
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly parent: Int32Array;
  count = 0;

  constructor(readonly capacity: number) {
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
  }

  add(start: number, end: number): number {
    const run = this.count++;
    this.start[run] = start;
    this.end[run] = end;
    this.parent[run] = run;
    return run;
  }

  /** Joins the parts of runs a and b; false when they already were one. */
  union(a: number, b: number): boolean {
    const ra = this.root(a);
    const rb = this.root(b);
    if (ra === rb) return false;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
    return true;
  }

  private root(a: number): number {
    const parent = this.parent;
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  }

  grown(): RowRuns {
    const next = new RowRuns(this.capacity * 2);
    next.start.set(this.start);
    next.end.set(this.end);
    next.parent.set(this.parent);
    next.count = this.count;
    return next;
  }
}
