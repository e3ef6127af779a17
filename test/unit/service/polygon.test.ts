import { describe, expect, it } from 'vitest';
import { countRegions, maskToPolygons, ringArea, simplifyRing } from '../../../gpu-service/src/masks/index.js';
import { multiPolygonArea } from '../../helpers/service-reference.js';
import { expectValidPolygons, pixelsDiffering, rasterizeByCentres } from '../../helpers/geojson-polygons.js';

function drawMask(width: number, height: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const mask = new Uint8Array(width * height); // [height, width]
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = inside(x + 0.5, y + 0.5) ? 1 : 0;
  return mask;
}
const areaOf = (mask: Uint8Array) => mask.reduce((a, b) => a + b, 0);

describe('mask polygons (traced exactly, simplified, holes kept)', () => {
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

  it('a 12 MP mask stays within 2 % of its area, holes kept', () => {
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

/** A mask from rows of text: '#' inside, anything else outside. */
function fromRows(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const width = rows[0]!.length;
  const mask = new Uint8Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((c, x) => (mask[y * width + x] = c === '#' ? 1 : 0)));
  return { mask, width, height: rows.length };
}

/** Every property the README promises, judged by third-party GeoJSON tools. */
function expectExact(mask: Uint8Array, width: number, height: number) {
  const polygons = maskToPolygons(mask, width, height);
  expectValidPolygons(polygons);
  const raster = rasterizeByCentres(polygons, width, height);
  expect(pixelsDiffering(raster, mask), 'pixels whose centre the polygons classify wrongly').toBe(0);
  expect(raster.reduce((a, b) => a + b, 0)).toBe(areaOf(mask));
  return polygons;
}

describe('mask polygons hold exactly the mask pixels (RFC 7946 rings, checked with turf)', () => {
  it('a single pixel is a polygon around its centre (not dropped)', () => {
    const { mask, width, height } = fromRows(['...', '.#.', '...']);
    const polygons = expectExact(mask, width, height);
    expect(polygons).toEqual([[[[1.5, 1], [2, 1.5], [1.5, 2], [1, 1.5], [1.5, 1]]]]);
  });

  it('1-pixel-wide lines: horizontal, vertical and diagonal (corner-touching pixels)', () => {
    const size = 40;
    const lines = [(x: number, y: number) => y === 7 && x > 2 && x < 37, (x: number, y: number) => x === 5 && y > 1, (x: number, y: number) => x === y, (x: number, y: number) => x + 2 * y === 60];
    for (const line of lines) {
      const mask = drawMask(size, size, (x, y) => line(x - 0.5, y - 0.5));
      const polygons = expectExact(mask, size, size);
      // A diagonal chain is one 8-connected region but one polygon per pixel group sharing an edge.
      expect(polygons.length).toBeGreaterThanOrEqual(countRegions(mask, size, [0, 0, size, size]));
    }
  });

  it('a 1-pixel-wide ring keeps its hole; a C whose tips touch at a corner; a checkerboard', () => {
    const ring = drawMask(30, 30, (x, y) => Math.max(Math.abs(x - 15), Math.abs(y - 15)) < 8 && Math.max(Math.abs(x - 15), Math.abs(y - 15)) > 7);
    const [annulus] = expectExact(ring, 30, 30);
    expect(annulus).toHaveLength(2);
    const c = fromRows(['.......', '.####..', '.#.....', '.#..##.', '.#...#.', '.#####.', '.......']);
    c.mask[2 * 7 + 4] = 1; // (4, 2) touches (5, 3) only at a corner
    expectExact(c.mask, c.width, c.height);
    const board = drawMask(12, 9, (x, y) => (Math.floor(x) + Math.floor(y)) % 2 === 0);
    expect(expectExact(board, 12, 9)).toHaveLength(areaOf(board));
  });

  it('holes inside holes inside polygons: each hole goes with the part around it', () => {
    const mask = drawMask(60, 60, (x, y) => {
      const r = Math.hypot(x - 30, y - 30);
      return (r < 28 && r > 20) || (r < 14 && r > 8) || r < 3 || (x > 1 && x < 5 && y > 1 && y < 5);
    });
    const polygons = expectExact(mask, 60, 60);
    expect(polygons.map((polygon) => polygon.length).sort()).toEqual([1, 1, 2, 2]);
  });

  it('250 random masks (noise of every density): exact, valid, wound as RFC 7946 says', () => {
    let seed = 17;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 250; trial++) {
      const width = 2 + Math.floor(random() * 24);
      const height = 2 + Math.floor(random() * 24);
      const density = random();
      const mask = new Uint8Array(width * height).map(() => (random() < density ? 1 : 0));
      expectExact(mask, width, height);
    }
  });

  it('simplification keeps the existing bounds: a disc has far fewer points than pixel steps, exact', () => {
    const mask = drawMask(160, 120, (x, y) => (x - 70) ** 2 + (y - 60) ** 2 < 40 ** 2);
    const [[ring]] = expectExact(mask, 160, 120);
    expect(ring!.length).toBeLessThan(120);
  });
});
