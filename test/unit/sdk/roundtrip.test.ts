/**
 * The SDK's decoders against the GPU service's encoders (gpu-service/src/masks): what the service
 * sends, the SDK reads back, exactly, in every format (polygons hold exactly the mask's pixel
 * centres, one-pixel speck included).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMask } from '../../../gpu-service/src/masks/index.js';
import { maskToBitmap, type Bitmap } from '../../../sdk/index.js';
import { readMaskFile } from '../../helpers/stack-masks.js';
import { FIXTURES_DIR } from '../../helpers/stack.js';

/** A ring with a hole, a separate blob and a one-pixel speck. */
function synthetic(width: number, height: number): Bitmap {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot(x - width * 0.3, y - height * 0.5);
      const ring = d < height * 0.35 && d > height * 0.15;
      const blob = Math.abs(x - width * 0.8) + Math.abs(y - height * 0.3) < height * 0.12;
      data[y * width + x] = ring || blob || (x === width - 2 && y === height - 2) ? 1 : 0;
    }
  }
  return { width, height, data };
}

const cases: Array<[string, () => Promise<Bitmap>]> = [
  ['synthetic 120x80', async () => synthetic(120, 80)],
  ['synthetic 37x301', async () => synthetic(37, 301)],
  ...readdirSync(FIXTURES_DIR)
    .filter((file) => file.endsWith('.mask.png'))
    .map((file): [string, () => Promise<Bitmap>] => [file, () => readMaskFile(join(FIXTURES_DIR, file))]),
];

function area(bitmap: Bitmap): number {
  return bitmap.data.reduce((sum, value) => sum + value, 0);
}

describe('SDK decoders read the service encoders', () => {
  it.each(cases)('%s: rle, png and polygon exactly', async (_name, make) => {
    const truth = await make();
    const phrase = { found: true, presence: null, regions: 1, mask: truth.data, width: truth.width, height: truth.height, score: 1, bbox: [0, 0, 0, 0] as [number, number, number, number], area: area(truth) };
    for (const format of ['rle', 'png', 'polygon'] as const) {
      const decoded = await maskToBitmap(await encodeMask(phrase, format), truth.width, truth.height);
      expect(Buffer.from(decoded.data).equals(Buffer.from(truth.data)), format).toBe(true);
    }
  });

  it('decodes an empty mask to an empty bitmap in every format', async () => {
    const empty = { found: false, presence: null, regions: 0, mask: new Uint8Array(50 * 40), width: 50, height: 40, score: 0, bbox: [0, 0, 0, 0] as [number, number, number, number], area: 0 };
    for (const format of ['polygon', 'rle', 'png'] as const) {
      expect(area(await maskToBitmap(await encodeMask(empty, format), 50, 40))).toBe(0);
    }
  });
});
