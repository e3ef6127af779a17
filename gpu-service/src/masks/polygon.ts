/**
 * Mask -> GeoJSON MultiPolygon coordinates (pixels, x right, y down) with d3-contour's marching
 * squares at level 0.5 (holes kept as inner rings), each ring simplified by Douglas-Peucker.
 */
import { contours } from 'd3-contour';

export type Ring = Array<[number, number]>;
export type MultiPolygonCoordinates = Ring[][];

/** Default simplification tolerance in pixels. */
export const POLYGON_TOLERANCE = 0.5;
/** Masks whose bounding box has more pixels than this are traced on a block-averaged grid. */
export const MAX_CONTOUR_CELLS = 2_000_000;

export function maskToPolygons(
  mask: Uint8Array,
  width: number,
  height: number,
  tolerance: number = POLYGON_TOLERANCE,
): MultiPolygonCoordinates {
  // Contours are traced on the mask's bounding box only (phone photos: 12 MP masks).
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
  const cropW = maxX - minX + 1;
  const cropH = maxY - minY + 1;
  // Very large masks are traced on a k x k box-averaged grid (level 0.5 interpolated between the
  // block means), so the tracing cost stays near MAX_CONTOUR_CELLS; the outline then follows the
  // mask to well under k pixels and the simplification tolerance grows to k/2 pixels.
  const k = cropW * cropH > MAX_CONTOUR_CELLS ? Math.ceil(Math.sqrt((cropW * cropH) / (MAX_CONTOUR_CELLS / 2))) : 1;
  const gridW = Math.ceil(cropW / k);
  const gridH = Math.ceil(cropH / k);
  const grid = new Float32Array(gridW * gridH); // [gridH, gridW] share of mask pixels per block
  for (let y = 0; y < cropH; y++) {
    const row = (y + minY) * width + minX;
    const gridRow = Math.floor(y / k) * gridW;
    for (let x = 0; x < cropW; x++) if (mask[row + x]) grid[gridRow + Math.floor(x / k)] += 1;
  }
  if (k > 1) {
    for (let gy = 0; gy < gridH; gy++) {
      const bh = Math.min(k, cropH - gy * k);
      for (let gx = 0; gx < gridW; gx++) grid[gy * gridW + gx] /= bh * Math.min(k, cropW - gx * k);
    }
  }
  // On 0/1 values (k = 1), level 0.5 lies at edge midpoints: smoothing would not move any point.
  const [level] = contours().size([gridW, gridH]).thresholds([0.5]).smooth(k > 1)(grid as unknown as number[]);
  const toImage = (ring: Ring): Ring =>
    ring.map(([x, y]) => [Math.min(x * k, cropW) + minX, Math.min(y * k, cropH) + minY]);
  const ringTolerance = Math.max(tolerance, k / 2);
  const polygons: MultiPolygonCoordinates = [];
  for (const [outer, ...holes] of level.coordinates as unknown as Ring[][]) {
    const exterior = simplifyRing(toImage(outer), ringTolerance);
    if (exterior.length < 4) continue; // collapsed to a line: nothing left to draw
    const inner = holes.map((ring) => simplifyRing(toImage(ring), ringTolerance)).filter((ring) => ring.length >= 4);
    polygons.push([exterior, ...inner]);
  }
  return polygons;
}

/** Shoelace area of a ring (absolute). */
export function ringArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
  return Math.abs(sum) / 2;
}

/** Area of a MultiPolygon: exteriors minus holes. */
export function multiPolygonArea(polygons: MultiPolygonCoordinates): number {
  let area = 0;
  for (const [outer, ...holes] of polygons) {
    area += ringArea(outer);
    for (const hole of holes) area -= ringArea(hole);
  }
  return area;
}

/** Douglas-Peucker on a closed ring (first point repeated last); keeps it closed. */
export function simplifyRing(ring: Ring, tolerance: number): Ring {
  if (ring.length <= 4 || tolerance <= 0) return ring;
  const open = ring.slice(0, -1);
  // Split at the point farthest from the first, so both halves are proper polylines.
  let far = 0;
  let farDist = -1;
  for (let i = 1; i < open.length; i++) {
    const d = (open[i][0] - open[0][0]) ** 2 + (open[i][1] - open[0][1]) ** 2;
    if (d > farDist) {
      farDist = d;
      far = i;
    }
  }
  const first = douglasPeucker(open.slice(0, far + 1), tolerance);
  const second = douglasPeucker([...open.slice(far), open[0]], tolerance);
  return [...first, ...second.slice(1)];
}

function douglasPeucker(points: Ring, tolerance: number): Ring {
  if (points.length <= 2) return points.slice();
  const keep = new Uint8Array(points.length);
  keep[0] = keep[points.length - 1] = 1;
  const stack: Array<[number, number]> = [[0, points.length - 1]];
  const tol2 = tolerance * tolerance;
  while (stack.length > 0) {
    const [a, b] = stack.pop()!;
    let index = -1;
    let maxDist = tol2;
    for (let i = a + 1; i < b; i++) {
      const d = segmentDistance2(points[i], points[a], points[b]);
      if (d > maxDist) {
        maxDist = d;
        index = i;
      }
    }
    if (index >= 0) {
      keep[index] = 1;
      stack.push([a, index], [index, b]);
    }
  }
  return points.filter((_, i) => keep[i]);
}

function segmentDistance2(p: [number, number], a: [number, number], b: [number, number]): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  const ex = a[0] + t * dx - p[0];
  const ey = a[1] + t * dy - p[1];
  return ex * ex + ey * ey;
}
