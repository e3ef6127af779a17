/**
 * Polygon masks of the shipped model, as a client gets them from the running stack: valid
 * RFC 7946 rings (check-geojson, turf kinks / boolean-valid / boolean-clockwise), and rasterised by
 * pixel centre with turf's point-in-polygon they are exactly the RLE mask of the same request,
 * with `area` pixels, on every sample scene and several phrases (found and not found).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRle } from '../../sdk/index.js';
import { expectValidPolygons, pixelsDiffering, rasterizeByCentres } from '../helpers/geojson-polygons.js';
import { samples, startStack, type Stack } from '../helpers/stack.js';

const PORT = 18400;
const MORE_PHRASES = ['the smallest object', 'the red square', 'the shape on the right', 'the purple star'];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ port: PORT });
}, 300_000);
afterAll(async () => stack?.stop());

interface Answer {
  width: number;
  height: number;
  results: Array<{ text: string; found: boolean; area: number; bbox: number[]; mask: { format: string; coordinates?: number[][][][]; size?: [number, number]; counts?: string } }>;
}

async function segment(file: string, phrases: string[], format: 'polygon' | 'rle'): Promise<Answer> {
  const form = new FormData();
  form.append('image', new Blob([readFileSync(file)], { type: 'image/png' }), 'scene.png');
  for (const phrase of phrases) form.append('text', phrase);
  form.append('format', format);
  const response = await fetch(`${stack.origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${stack.apiKey}` }, body: form });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Answer;
}

describe('polygon masks from the shipped model', () => {
  it('are valid RFC 7946 rings and rasterise to exactly the RLE mask and its area', { timeout: 240_000 }, async () => {
    let found = 0;
    for (const sample of samples()) {
      const phrases = [sample.phrase, ...MORE_PHRASES];
      const [polygons, rles] = [await segment(sample.image, phrases, 'polygon'), await segment(sample.image, phrases, 'rle')];
      for (const [i, result] of polygons.results.entries()) {
        const rle = rles.results[i]!;
        expect(result.mask.format).toBe('polygon');
        const coordinates = result.mask.coordinates!;
        expectValidPolygons(coordinates);
        const raster = rasterizeByCentres(coordinates, polygons.width, polygons.height);
        const reference = decodeRle({ size: rle.mask.size!, counts: rle.mask.counts! }).data;
        expect(pixelsDiffering(raster, reference), `${sample.file} "${result.text}"`).toBe(0);
        expect(raster.reduce((a, b) => a + b, 0)).toBe(result.area);
        expect([result.area, result.found, result.bbox]).toEqual([rle.area, rle.found, rle.bbox]);
        if (result.found) found++;
        else expect(coordinates).toEqual([]);
      }
    }
    expect(found).toBeGreaterThanOrEqual(samples().length); // every sample's own phrase at least
  });
});
