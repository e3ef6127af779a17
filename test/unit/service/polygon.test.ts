import { describe, expect, it } from 'vitest';
import { maskToPolygons, multiPolygonArea, ringArea, simplifyRing } from '../../../gpu-service/src/masks/index.js';

function drawMask(width: number, height: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const mask = new Uint8Array(width * height); // [height, width]
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = inside(x + 0.5, y + 0.5) ? 1 : 0;
  return mask;
}
const areaOf = (mask: Uint8Array) => mask.reduce((a, b) => a + b, 0);

describe('mask polygons (d3-contour, simplified, holes kept)', () => {
  it('a disc: one polygon, area within 2 %, far fewer points than the outline', () => {
    const mask = drawMask(160, 120, (x, y) => (x - 70) ** 2 + (y - 60) ** 2 < 40 ** 2);
    const polygons = maskToPolygons(mask, 160, 120);
    expect(polygons).toHaveLength(1);
    expect(polygons[0]).toHaveLength(1);
    expect(Math.abs(multiPolygonArea(polygons) - areaOf(mask)) / areaOf(mask)).toBeLessThan(0.02);
    expect(polygons[0][0].length).toBeLessThan(120);
    const ring = polygons[0][0];
    expect(ring[0]).toEqual(ring[ring.length - 1]);
  });

  it('a square with a hole: exterior and inner ring, area within 2 %', () => {
    const mask = drawMask(100, 100, (x, y) => x > 10 && x < 90 && y > 10 && y < 90 && !(x > 40 && x < 60 && y > 40 && y < 60));
    const polygons = maskToPolygons(mask, 100, 100);
    expect(polygons).toHaveLength(1);
    expect(polygons[0]).toHaveLength(2);
    expect(ringArea(polygons[0][0])).toBeGreaterThan(ringArea(polygons[0][1]));
    expect(Math.abs(multiPolygonArea(polygons) - areaOf(mask)) / areaOf(mask)).toBeLessThan(0.02);
    // The outer ring of an axis-aligned square simplifies to a handful of points.
    expect(polygons[0][0].length).toBeLessThanOrEqual(10);
  });

  it('two separate blobs and a mask touching the image border', () => {
    const mask = drawMask(120, 80, (x, y) => (x - 25) ** 2 + (y - 40) ** 2 < 400 || (x > 70 && y < 30));
    const polygons = maskToPolygons(mask, 120, 80);
    expect(polygons).toHaveLength(2);
    expect(Math.abs(multiPolygonArea(polygons) - areaOf(mask)) / areaOf(mask)).toBeLessThan(0.02);
    for (const polygon of polygons) for (const ring of polygon) for (const [x, y] of ring) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(120);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(80);
    }
  });

  it('a 12 MP mask (traced on a block-averaged grid) stays within 2 % of its area, holes kept', () => {
    const [w, h] = [4032, 3024];
    const mask = drawMask(w, h, (x, y) => {
      const inEllipse = (x - 1800) ** 2 / 1500 ** 2 + (y - 1500) ** 2 / 1200 ** 2 < 1;
      const inHole = (x - 1800) ** 2 + (y - 1500) ** 2 < 300 ** 2;
      return (inEllipse && !inHole) || (x > 3500 && x < 3900 && y > 100 && y < 700);
    });
    const polygons = maskToPolygons(mask, w, h);
    expect(polygons).toHaveLength(2);
    expect(polygons.map((p) => p.length).sort()).toEqual([1, 2]);
    expect(Math.abs(multiPolygonArea(polygons) - areaOf(mask)) / areaOf(mask)).toBeLessThan(0.02);
    for (const polygon of polygons) for (const ring of polygon) for (const [x, y] of ring) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(w);
      expect(y).toBeLessThanOrEqual(h);
    }
  });

  it('an empty mask gives no polygons', () => {
    expect(maskToPolygons(new Uint8Array(50), 10, 5)).toEqual([]);
  });

  it('simplifyRing keeps rings closed and drops collinear points', () => {
    const ring: Array<[number, number]> = [[0, 0], [1, 0], [2, 0], [2, 1], [2, 2], [1, 2], [0, 2], [0, 1], [0, 0]];
    const simple = simplifyRing(ring, 0.1);
    expect(simple).toEqual([[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]);
  });
});
