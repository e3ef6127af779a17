import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bitmapIoU, bitmapToRgba, decodePngMask, decodeRle, maskToBitmap, rasterizePolygon, rleCounts, type Bitmap } from '../../../sdk/index.js';

/** pycocotools' rleToString, written out here as an independent reference (column-major runs). */
function referenceRle(bitmap: Bitmap): { size: [number, number]; counts: string } {
  const runs: number[] = [];
  let previous = 0;
  let run = 0;
  for (let x = 0; x < bitmap.width; x++) {
    for (let y = 0; y < bitmap.height; y++) {
      const value = bitmap.data[y * bitmap.width + x]!;
      if (value !== previous) {
        runs.push(run);
        run = 0;
        previous = value;
      }
      run++;
    }
  }
  runs.push(run);
  let counts = '';
  runs.forEach((count, i) => {
    let x = i > 2 ? count - runs[i - 2]! : count;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      counts += String.fromCharCode(c + 48);
    }
  });
  return { size: [bitmap.height, bitmap.width], counts };
}

/** A deterministic blobby mask: a disc, a ring and noise-free rectangles. */
function testBitmap(width: number, height: number): Bitmap {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot(x - width * 0.35, y - height * 0.5);
      const inDisc = d < Math.min(width, height) * 0.3 && d > Math.min(width, height) * 0.1;
      const inBox = x > width * 0.7 && x < width * 0.9 && y > 3 && y < height * 0.4;
      data[y * width + x] = inDisc || inBox ? 1 : 0;
    }
  }
  return { width, height, data };
}

describe('decodeRle', () => {
  it('reads a literal pycocotools string', () => {
    expect(rleCounts('04')).toEqual([0, 4]);
    expect(decodeRle({ size: [2, 2], counts: '04' }).data).toEqual(new Uint8Array([1, 1, 1, 1]));
    // 3x2 (h=3, w=2), column-major [0,1,1 | 1,0,0] -> runs 1,3,2
    expect(decodeRle({ size: [3, 2], counts: '132' }).data).toEqual(new Uint8Array([0, 1, 1, 0, 1, 0]));
  });

  it('round-trips long runs, negative deltas and odd sizes', () => {
    for (const [w, h] of [[1, 1], [7, 3], [200, 90], [333, 517]] as const) {
      const bitmap = testBitmap(w, h);
      const decoded = decodeRle(referenceRle(bitmap));
      expect(decoded.width).toBe(w);
      expect(decoded.height).toBe(h);
      expect(Buffer.from(decoded.data).equals(Buffer.from(bitmap.data))).toBe(true);
    }
  });

  it('rejects runs that overflow the size', () => {
    expect(() => decodeRle({ size: [2, 2], counts: '05' })).toThrow(/overflow/);
  });
});

describe('rasterizePolygon', () => {
  it('fills pixels whose centres are inside, leaving holes empty', () => {
    const outer: [number, number][] = [[1, 1], [7, 1], [7, 7], [1, 7], [1, 1]];
    const hole: [number, number][] = [[3, 3], [5, 3], [5, 5], [3, 5], [3, 3]];
    const bitmap = rasterizePolygon([[outer, hole]], 8, 8);
    let area = 0;
    bitmap.data.forEach((v) => (area += v));
    expect(area).toBe(36 - 4);
    expect(bitmap.data[0]).toBe(0);
    expect(bitmap.data[1 * 8 + 1]).toBe(1);
    expect(bitmap.data[3 * 8 + 3]).toBe(0);
    expect(bitmap.data[6 * 8 + 6]).toBe(1);
    expect(bitmap.data[7 * 8 + 7]).toBe(0);
  });

  it('handles several polygons and clips to the image', () => {
    const a: [number, number][] = [[-5, -5], [2, -5], [2, 2], [-5, 2]];
    const b: [number, number][] = [[4, 4], [12, 4], [12, 12], [4, 12]];
    const bitmap = rasterizePolygon([[a], [b]], 6, 6);
    let area = 0;
    bitmap.data.forEach((v) => (area += v));
    expect(area).toBe(4 + 4);
  });

  it('fills a triangle close to its true area', () => {
    const bitmap = rasterizePolygon([[[[0, 0], [100, 0], [0, 100]]]], 100, 100);
    let area = 0;
    bitmap.data.forEach((v) => (area += v));
    expect(Math.abs(area - 5000)).toBeLessThan(100);
  });
});

describe('decodePngMask', () => {
  const bitmap = testBitmap(61, 37);
  const grey = Buffer.from(bitmap.data.map((v) => v * 255));
  const raw = { raw: { width: 61, height: 37, channels: 1 as const } };

  it('decodes 8-bit grey, RGB, palette and 1-bit PNGs (every filter sharp picks)', async () => {
    const variants = [
      await sharp(grey, raw).toColourspace('b-w').png().toBuffer(),
      await sharp(grey, raw).toColourspace('b-w').png({ adaptiveFiltering: true, compressionLevel: 9 }).toBuffer(),
      await sharp(grey, raw).toColourspace('srgb').png().toBuffer(),
      await sharp(grey, raw).png({ palette: true, colours: 4 }).toBuffer(),
      await sharp(grey, raw).png({ palette: true, colours: 2 }).toBuffer(),
    ];
    // [bit depth, colour type] from IHDR: grey 8, grey 8, RGB 8, palette 2 or 1, palette 1
    expect(variants.map((png) => [png[24], png[25]])).toEqual([[8, 0], [8, 0], [8, 2], [expect.any(Number), 3], [1, 3]]);
    for (const png of variants) {
      const decoded = await decodePngMask(new Uint8Array(png));
      expect([decoded.width, decoded.height]).toEqual([61, 37]);
      expect(bitmapIoU(decoded, bitmap)).toBe(1);
    }
    const viaBase64 = await maskToBitmap({ format: 'png', data: variants[0]!.toString('base64') }, 61, 37);
    expect(Buffer.from(viaBase64.data).equals(Buffer.from(bitmap.data))).toBe(true);
  });

  it('rejects what is not a PNG', async () => {
    await expect(decodePngMask(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).rejects.toThrow(/not a PNG/);
  });
});

describe('maskToBitmap and helpers', () => {
  it('dispatches on the format', async () => {
    const bitmap = testBitmap(20, 10);
    const fromRle = await maskToBitmap({ format: 'rle', ...referenceRle(bitmap) }, 20, 10);
    expect(bitmapIoU(fromRle, bitmap)).toBe(1);
    const square = await maskToBitmap({ format: 'polygon', coordinates: [[[[0, 0], [2, 0], [2, 2], [0, 2]]]] }, 4, 4);
    expect(Array.from(square.data)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('paints RGBA and measures IoU', () => {
    const a = { width: 2, height: 1, data: new Uint8Array([1, 0]) };
    const b = { width: 2, height: 1, data: new Uint8Array([1, 1]) };
    expect(Array.from(bitmapToRgba(a, [255, 0, 0, 128]))).toEqual([255, 0, 0, 128, 0, 0, 0, 0]);
    // a 3x3 block in a 5x5 mask: 8 boundary pixels get the edge colour, the centre the fill
    const block = { width: 5, height: 5, data: new Uint8Array(25) };
    for (const y of [1, 2, 3]) for (const x of [1, 2, 3]) block.data[y * 5 + x] = 1;
    const painted = bitmapToRgba(block, [0, 0, 255, 100], [255, 255, 0, 255]);
    const alphaAt = (x: number, y: number) => painted[(y * 5 + x) * 4 + 3];
    expect(alphaAt(2, 2)).toBe(100);
    expect(alphaAt(1, 1)).toBe(255);
    expect(alphaAt(3, 2)).toBe(255);
    expect(alphaAt(0, 0)).toBe(0);
    expect(bitmapIoU(a, b)).toBe(0.5);
    expect(() => bitmapIoU(a, { width: 1, height: 2, data: new Uint8Array(2) })).toThrow();
  });
});
