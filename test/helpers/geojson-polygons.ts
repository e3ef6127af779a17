/**
 * Polygon masks judged by third-party GeoJSON tools only: @placemarkio/check-geojson (structure,
 * closed rings), @turf/kinks (no ring crosses itself or another), @turf/boolean-valid,
 * @turf/boolean-clockwise (RFC 7946 winding: exteriors counter-clockwise, holes clockwise, in the
 * y-up reading of the numbers) and @turf/boolean-point-in-polygon (which pixel centres a polygon
 * holds: the mask a client rasterising by pixel centre gets).
 */
import { getIssues } from '@placemarkio/check-geojson';
import booleanClockwise from '@turf/boolean-clockwise';
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import booleanValid from '@turf/boolean-valid';
import kinks from '@turf/kinks';
import type { MultiPolygon, Polygon } from 'geojson';
import { expect } from 'vitest';

export type Coordinates = number[][][][];

/** Structure, closure, winding and simplicity of a `polygon` mask's coordinates. */
export function expectValidPolygons(coordinates: Coordinates): void {
  const geometry: MultiPolygon = { type: 'MultiPolygon', coordinates };
  expect(getIssues(JSON.stringify(geometry)), 'check-geojson issues').toEqual([]);
  for (const polygon of coordinates) {
    polygon.forEach((ring, index) => {
      expect(ring.length, 'a ring has at least 4 positions').toBeGreaterThanOrEqual(4);
      expect(ring[0], 'a ring is closed').toEqual(ring[ring.length - 1]);
      expect(booleanClockwise(ring as Array<[number, number]>), index === 0 ? 'exterior counter-clockwise' : 'hole clockwise').toBe(index > 0);
    });
    const single: Polygon = { type: 'Polygon', coordinates: polygon };
    expect(booleanValid(single), 'turf boolean-valid').toBe(true);
  }
  expect(kinks(geometry).features, 'turf kinks: crossings between any two ring segments').toEqual([]);
}

/** [height, width] 0/1: 1 where the pixel centre (x + 0.5, y + 0.5) is inside the polygons. */
export function rasterizeByCentres(coordinates: Coordinates, width: number, height: number): Uint8Array {
  const raster = new Uint8Array(width * height);
  for (const polygon of coordinates) {
    const single: Polygon = { type: 'Polygon', coordinates: polygon };
    // Only centres inside the exterior's bounding box can be inside.
    const xs = polygon[0]!.map((p) => p[0]!);
    const ys = polygon[0]!.map((p) => p[1]!);
    for (let y = Math.max(0, Math.floor(Math.min(...ys))); y < Math.min(height, Math.ceil(Math.max(...ys))); y++) {
      for (let x = Math.max(0, Math.floor(Math.min(...xs))); x < Math.min(width, Math.ceil(Math.max(...xs))); x++) {
        if (booleanPointInPolygon([x + 0.5, y + 0.5], single, { ignoreBoundary: true })) raster[y * width + x] = 1;
      }
    }
  }
  return raster;
}

/** The number of pixels where two [height, width] 0/1 masks differ. */
export function pixelsDiffering(a: Uint8Array, b: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] ? 1 : 0) !== (b[i] ? 1 : 0)) count++;
  return count;
}
