/**
 * The rasteriser: pure functions from a scene description to pixels. No anti-aliasing: a pixel
 * belongs to a shape when its centre (x + 0.5, y + 0.5) is inside, so the mask is exact.
 */
import type { Rgb } from './colour.js';
import type { ShapeName } from './vocab.js';

/** One object as drawn: the centre of its bounding box, the side of that box, rotation in radians. */
export interface ShapeGeometry {
  shape: ShapeName;
  cx: number;
  cy: number;
  size: number;
  rotation: number;
}

export type Point = [number, number];

/** Unit outline (before scaling) of a polygonal shape; circles have none. */
function unitPolygon(shape: ShapeName, rotation: number): Point[] {
  const regular = (n: number, start: number, radius: (i: number) => number): Point[] =>
    Array.from({ length: n }, (_, i) => {
      const a = start + rotation + (2 * Math.PI * i) / n;
      const r = radius(i);
      return [r * Math.cos(a), r * Math.sin(a)] as Point;
    });
  switch (shape) {
    case 'square':
      return regular(4, Math.PI / 4, () => 1);
    case 'triangle':
      return regular(3, -Math.PI / 2, () => 1);
    case 'hexagon':
      return regular(6, 0, () => 1);
    case 'star':
      return regular(10, -Math.PI / 2, (i) => (i % 2 === 0 ? 1 : 0.4));
    case 'circle':
      return [];
  }
}

/** The outline in image coordinates, scaled so the larger side of its bounding box is `size`. */
export function shapeOutline(g: ShapeGeometry): Point[] {
  if (g.shape === 'circle') {
    return Array.from({ length: 48 }, (_, i) => {
      const a = (2 * Math.PI * i) / 48;
      return [g.cx + (g.size / 2) * Math.cos(a), g.cy + (g.size / 2) * Math.sin(a)] as Point;
    });
  }
  const unit = unitPolygon(g.shape, g.rotation);
  const xs = unit.map((p) => p[0]);
  const ys = unit.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = g.size / Math.max(x1 - x0, y1 - y0);
  const mx = (x0 + x1) / 2;
  const my = (y0 + y1) / 2;
  return unit.map(([x, y]) => [g.cx + (x - mx) * scale, g.cy + (y - my) * scale] as Point);
}

/** Axis-aligned bounds [x0, y0, x1, y1] of the outline (circles: the circle's box). */
export function shapeBounds(g: ShapeGeometry): [number, number, number, number] {
  if (g.shape === 'circle') return [g.cx - g.size / 2, g.cy - g.size / 2, g.cx + g.size / 2, g.cy + g.size / 2];
  const poly = shapeOutline(g);
  const xs = poly.map((p) => p[0]);
  const ys = poly.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Even-odd point-in-polygon test. */
function insidePolygon(poly: Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** [height * width] 0/1 coverage of one shape. */
export function rasteriseShape(g: ShapeGeometry, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const [bx0, by0, bx1, by1] = shapeBounds(g);
  const x0 = Math.max(0, Math.floor(bx0));
  const y0 = Math.max(0, Math.floor(by0));
  const x1 = Math.min(width - 1, Math.ceil(bx1));
  const y1 = Math.min(height - 1, Math.ceil(by1));
  const poly = g.shape === 'circle' ? [] : shapeOutline(g);
  const r2 = (g.size / 2) ** 2;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5;
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5;
      const hit = g.shape === 'circle' ? (px - g.cx) ** 2 + (py - g.cy) ** 2 <= r2 : insidePolygon(poly, px, py);
      if (hit) out[y * width + x] = 1;
    }
  }
  return out;
}

/** [height * width] index of the topmost object at each pixel, -1 for background (later objects on top). */
export function labelMap(coverages: Uint8Array[], width: number, height: number): Int16Array {
  const labels = new Int16Array(width * height).fill(-1);
  coverages.forEach((cov, index) => {
    for (let i = 0; i < cov.length; i++) if (cov[i]) labels[i] = index;
  });
  return labels;
}

/** Paints object colours over a background: [height * width * 3] RGB. */
export function paintObjects(background: Uint8Array, labels: Int16Array, colours: Rgb[]): Uint8Array {
  const rgb = background.slice();
  for (let i = 0; i < labels.length; i++) {
    const k = labels[i];
    if (k < 0) continue;
    rgb[3 * i] = colours[k][0];
    rgb[3 * i + 1] = colours[k][1];
    rgb[3 * i + 2] = colours[k][2];
  }
  return rgb;
}

/** [height * width] 0/255 mask of the pixels where object `index` is visible. */
export function objectMask(labels: Int16Array, index: number): Uint8Array {
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) if (labels[i] === index) mask[i] = 255;
  return mask;
}
