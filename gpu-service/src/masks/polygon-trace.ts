/**
 * Mask -> exact outlines: the boundary between inside and outside pixels, followed along pixel
 * edges and drawn through the midpoints of those edges (the geometry of marching squares at level
 * 0.5 on pixel centres). Pixel (x, y) covers [x, x+1] x [y, y+1]; its centre is (x+0.5, y+0.5).
 *
 * Every ring separates the pixel centres exactly: a centre is inside the rings (even-odd) if and
 * only if its pixel is in the mask, and every centre is at least 1/(2*sqrt(2)) px from every ring.
 * One polygon per 4-connected part of the mask (pixels sharing an edge); two parts that touch
 * only at a corner are two polygons, 0.707 px apart there. Rings are simple and never touch.
 *
 * Orientation (the frame: the coordinates read as numbers, x to the right, y up, as GeoJSON
 * libraries compute it): exteriors counter-clockwise (positive shoelace area), holes clockwise.
 * On the image, where y points down, an exterior therefore runs clockwise on screen.
 */

export type Point = [number, number];
export type Ring = Point[];

/** Walking directions on the pixel-edge lattice, numbered so that (d + 1) % 4 is a left turn. */
const DX = [1, 0, -1, 0]; // +x, +y, -x, -y
const DY = [0, 1, 0, -1];

/**
 * Traces `mask` ([height, width], 0/1) inside the box [x0, x0 + w) x [y0, y0 + h), which holds
 * every set pixel. Returns one polygon per part, in the order the parts are met in a row-major
 * scan: its exterior ring, then its holes, each closed (first point repeated last), in image pixels.
 */
export function tracePolygons(mask: Uint8Array, width: number, x0: number, y0: number, w: number, h: number): Ring[][] {
  const edges = boundaryEdges(mask, width, x0, y0, w, h);
  return ringsFromEdges(edges, () => paddedBox(mask, width, x0, y0, w, h), x0, y0, w, h);
}

/**
 * The outline's edges on the lattice of pixel corners, [h + 1, w + 1] vertices: outgoing edges per
 * vertex, one bit per direction, walking with the inside on the left (in the y-up reading of the
 * numbers), so exteriors come out counter-clockwise.
 */
export interface BoundaryEdges {
  out: Uint8Array;
  /** The vertices with an edge, in increasing order (rings start at the first one left). */
  vertices: Int32Array;
}

/**
 * The boundary edges from the box's row runs: a vertical edge at each end of a run, horizontal
 * edges where a run of one row is not covered by the row above or below (work in proportion to
 * the runs and the outline, not to the box's area, beyond one read of its pixels).
 */
function boundaryEdges(mask: Uint8Array, width: number, x0: number, y0: number, w: number, h: number): BoundaryEdges {
  const vw = w + 1; // lattice vertices: [h + 1, w + 1]
  const out = new Uint8Array(vw * (h + 1));
  const touched: number[] = [];
  const mark = (v: number, bit: number) => {
    if (out[v] === 0) touched.push(v);
    out[v] |= bit;
  };
  const runs = boxRuns(mask, width, x0, y0, w, h);
  for (let y = 0; y < h; y++) {
    for (let r = runs.first[y]; r < runs.first[y + 1]; r++) {
      mark((y + 1) * vw + runs.start[r], 1 << 3); // -y from (start, y + 1): outside on the left
      mark(y * vw + runs.end[r], 1 << 1); // +y from (end, y): inside on the left
    }
  }
  // Row y - 1 above the lattice row y, row y below (rows -1 and h are empty).
  for (let y = 0; y <= h; y++) {
    const above = y > 0 ? y - 1 : -1;
    const below = y < h ? y : -1;
    // Pixels set below but not above: +x from (x, y); set above but not below: -x from (x + 1, y).
    uncovered(runs, below, above, (from, to) => {
      for (let x = from; x < to; x++) mark(y * vw + x, 1 << 0);
    });
    uncovered(runs, above, below, (from, to) => {
      for (let x = from; x < to; x++) mark(y * vw + x + 1, 1 << 2);
    });
  }
  return { out, vertices: Int32Array.from(touched).sort() };
}

/** Runs of set pixels per box row: row y's runs are first[y] .. first[y + 1] - 1, [start, end) in box columns. */
interface BoxRuns {
  first: Int32Array;
  start: Int32Array;
  end: Int32Array;
}

function boxRuns(mask: Uint8Array, width: number, x0: number, y0: number, w: number, h: number): BoxRuns {
  const first = new Int32Array(h + 1);
  let start: Int32Array = new Int32Array(64);
  let end: Int32Array = new Int32Array(64);
  let count = 0;
  for (let y = 0; y < h; y++) {
    first[y] = count;
    const row = (y0 + y) * width + x0;
    for (let x = 0; x < w; x++) {
      if (!mask[row + x]) continue;
      const runStart = x;
      while (x + 1 < w && mask[row + x + 1]) x++;
      if (count === start.length) {
        start = grown(start);
        end = grown(end);
      }
      start[count] = runStart;
      end[count] = x + 1;
      count++;
    }
  }
  first[h] = count;
  return { first, start, end };
}

function grown(array: Int32Array): Int32Array {
  const next = new Int32Array(array.length * 2);
  next.set(array);
  return next;
}

/** Calls take(from, to) for each part [from, to) of row p's runs that row q's runs do not cover (row -1: none). */
function uncovered(runs: BoxRuns, p: number, q: number, take: (from: number, to: number) => void): void {
  if (p < 0) return;
  const qEnd = q < 0 ? 0 : runs.first[q + 1];
  let j = q < 0 ? 0 : runs.first[q];
  for (let r = runs.first[p]; r < runs.first[p + 1]; r++) {
    const to = runs.end[r];
    let at = runs.start[r];
    while (j < qEnd && runs.end[j] <= at) j++;
    for (let k = j; at < to; k++) {
      if (k >= qEnd || runs.start[k] >= to) {
        take(at, to);
        break;
      }
      if (runs.start[k] > at) take(at, runs.start[k]);
      at = Math.max(at, runs.end[k]);
    }
  }
}

/** The box with a 1-pixel empty border: [h + 2, w + 2], pixel (x, y) at (y + 1) * (w + 2) + x + 1. */
function paddedBox(mask: Uint8Array, width: number, x0: number, y0: number, w: number, h: number): Uint8Array {
  const pw = w + 2;
  const padded = new Uint8Array(pw * (h + 2));
  for (let y = 0; y < h; y++) padded.set(mask.subarray((y + y0) * width + x0, (y + y0) * width + x0 + w), (y + 1) * pw + 1);
  return padded;
}

/**
 * Follows every ring of `edges` (clearing them), first vertex first; sorts the rings into polygons
 * (exteriors) and their holes. `padded` (paddedBox) is read only when holes must be matched to
 * one of several parts.
 */
export function ringsFromEdges(edges: BoundaryEdges, padded: () => Uint8Array, x0: number, y0: number, w: number, h: number): Ring[][] {
  const { out, vertices } = edges;
  const vw = w + 1;
  const pw = w + 2;
  // pixel: index (in the padded box) of an inside pixel along the ring, which names its part.
  const polygons: Array<{ rings: Ring[]; pixel: number }> = [];
  const holes: Array<{ ring: Ring; pixel: number }> = [];
  for (const v of vertices) {
    while (out[v]) {
      const startDir = 31 - Math.clz32(out[v] & -out[v]);
      const ring = followRing(out, vw, v, startDir, x0, y0);
      const vx = v % vw;
      const pixel = insidePixel(vx, (v - vx) / vw, startDir, pw);
      if (signedArea(ring) > 0) polygons.push({ rings: [ring], pixel });
      else holes.push({ ring, pixel });
    }
  }
  if (holes.length > 0 && polygons.length === 1) polygons[0].rings.push(...holes.map((hole) => hole.ring));
  else if (holes.length > 0) {
    // A hole belongs to the part of the pixels along it (any one of them: they are 4-connected).
    const labels = labelParts(padded(), pw, h + 2);
    const polygonOfPart = new Map(polygons.map((polygon) => [labels[polygon.pixel], polygon]));
    for (const hole of holes) polygonOfPart.get(labels[hole.pixel])!.rings.push(hole.ring);
  }
  return polygons.map(({ rings }) => rings);
}

/**
 * Follows one ring from edge (vertex `start`, direction `startDir`), clearing the edges it takes.
 * At a vertex with two ways out (two inside pixels touching only at that corner) it turns left,
 * around the pixel it is already walking around. Points: midpoints of the first and last edge of
 * each straight run (the points between are on the segment joining them), closed.
 */
function followRing(out: Uint8Array, vw: number, start: number, startDir: number, x0: number, y0: number): Ring {
  const ring: Ring = [];
  let v = start;
  let dir = startDir;
  let prevDir = -1;
  for (;;) {
    out[v] &= ~(1 << dir);
    const vx = v % vw;
    const vy = (v - vx) / vw;
    if (dir !== prevDir) {
      // A new run: close the previous run at its last edge's midpoint, open this one at its first.
      if (prevDir >= 0) pushPoint(ring, x0 + vx - DX[prevDir] / 2, y0 + vy - DY[prevDir] / 2);
      pushPoint(ring, x0 + vx + DX[dir] / 2, y0 + vy + DY[dir] / 2);
    }
    prevDir = dir;
    v += DX[dir] + DY[dir] * vw;
    const bits = out[v];
    const next = v === start && dirIsNextAt(bits, dir, startDir) ? -1 : pickExit(bits, dir);
    if (next < 0) break;
    dir = next;
  }
  // The last run ends at the first edge's midpoint when it continues the first run (dropCollinear
  // then removes that point if it lies inside the run); otherwise at its own last edge's midpoint.
  if (prevDir !== startDir) {
    const vx = v % vw;
    const vy = (v - vx) / vw;
    pushPoint(ring, x0 + vx - DX[prevDir] / 2, y0 + vy - DY[prevDir] / 2);
  }
  ring.push([ring[0][0], ring[0][1]]);
  return dropCollinear(ring);
}

/** Appends (x, y) unless it repeats the last point (a run of one edge opens and closes at one midpoint). */
function pushPoint(ring: Ring, x: number, y: number): void {
  const last = ring[ring.length - 1];
  if (!last || last[0] !== x || last[1] !== y) ring.push([x, y]);
}

/** Whether, arriving back at the start vertex along `dir`, the ring's next edge is its first one. */
function dirIsNextAt(bits: number, dir: number, startDir: number): boolean {
  // The first edge's bit is already cleared: the ring closes when the turn rule would pick it.
  return pickExit(bits | (1 << startDir), dir) === startDir;
}

/** The way out of a vertex entered along `dir`: the only one, or the left turn at a saddle. */
function pickExit(bits: number, dir: number): number {
  if (bits === 0) return -1;
  const left = (dir + 1) % 4;
  if (bits & (1 << left)) return left;
  return 31 - Math.clz32(bits & -bits);
}

/** The inside pixel (index in the padded box) on the left of the edge leaving (vx, vy) along dir. */
function insidePixel(vx: number, vy: number, dir: number, pw: number): number {
  const pixel = (x: number, y: number) => (y + 1) * pw + x + 1;
  switch (dir) {
    case 0: return pixel(vx, vy); // +x: the pixel below the edge
    case 1: return pixel(vx - 1, vy); // +y: the pixel to its left
    case 2: return pixel(vx - 1, vy - 1); // -x: the pixel above
    default: return pixel(vx, vy - 1); // -y: the pixel to its right
  }
}

/** Removes points that lie on the segment between their neighbours (a closed ring stays closed). */
function dropCollinear(ring: Ring): Ring {
  const open = ring.slice(0, -1);
  const kept = open.filter((p, i) => {
    const a = open[(i + open.length - 1) % open.length];
    const b = open[(i + 1) % open.length];
    return (p[0] - a[0]) * (b[1] - a[1]) !== (p[1] - a[1]) * (b[0] - a[0]);
  });
  return [...kept, kept[0]];
}

/** Shoelace area of a closed ring, signed: positive when counter-clockwise in the y-up reading. */
export function signedArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) sum += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return sum / 2;
}

/** 4-connected parts of the set pixels of a [h, w] grid with an empty border (union-find, two passes); -1 outside. */
function labelParts(grid: Uint8Array, w: number, h: number): Int32Array {
  const labels = new Int32Array(w * h).fill(-1);
  const parent: number[] = [];
  const find = (a: number): number => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (let i = w; i < w * (h - 1); i++) {
    if (!grid[i]) continue;
    const up = labels[i - w]; // the border keeps i - w and i - 1 inside the grid
    const left = labels[i - 1];
    let label: number;
    if (up < 0 && left < 0) {
      label = parent.length;
      parent.push(label);
    } else if (up < 0 || left < 0 || up === left) label = Math.max(up, left);
    else {
      const a = find(up);
      const b = find(left);
      label = Math.min(a, b);
      parent[Math.max(a, b)] = label;
    }
    labels[i] = label;
  }
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) labels[i] = find(labels[i]);
  return labels;
}
