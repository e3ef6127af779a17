/**
 * Mask -> GeoJSON MultiPolygon coordinates in image pixels (x right, y down; pixel (x, y) covers
 * [x, x+1] x [y, y+1]). Outlines are traced exactly (polygon-trace.ts: through pixel-edge
 * midpoints, one polygon per 4-connected part, holes as inner rings, RFC 7946 winding in the y-up
 * reading of the numbers), then each ring is simplified by Douglas-Peucker with a tolerance below
 * the closest a pixel centre comes to a traced outline, so the simplified polygons still hold
 * exactly the mask's pixel centres: rasterised by pixel centre (even-odd), they give the mask
 * back pixel for pixel, and no part of the mask is ever dropped, however thin.
 */
import { maskBox, type MaskBox } from '../../../contract/rle.js';
import { tracePolygons, type Ring } from './polygon-trace.js';

export type { Ring } from './polygon-trace.js';
export type MultiPolygonCoordinates = Ring[][];

/**
 * Douglas-Peucker tolerance in pixels. A pixel centre is at least 1/(2*sqrt(2)) = 0.3536 px from a
 * traced outline (at a cut corner): with a smaller tolerance no simplified edge can cross a centre,
 * and two outlines (at least 0.707 px apart) cannot cross each other.
 */
export const POLYGON_TOLERANCE = 0.35;

export function maskToPolygons(
  mask: Uint8Array,
  width: number,
  height: number,
  tolerance: number = POLYGON_TOLERANCE,
  box: MaskBox = maskBox(mask, width, height),
): MultiPolygonCoordinates {
  // Outlines are traced on the bounding box only (phone photos: 12 MP masks); `box` holds every set pixel.
  const [minX, minY, w, h] = box;
  if (w === 0) return [];
  const traced = tracePolygons(mask, width, minX, minY, w, h);
  return traced.map((rings) => rings.map((ring) => simplifyRing(ring, tolerance)));
}

/** Shoelace area of a ring (absolute). */
export function ringArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
  return Math.abs(sum) / 2;
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
