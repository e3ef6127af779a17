import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { samplesToRgb, unfilterRow } from '../../../gpu-service/src/imaging/png-pixels.js';
import { unfilterSimd } from '../../../gpu-service/src/imaging/png-unfilter-simd.js';
import { randomInts } from '../../helpers/png-files.js';
import { REPO_ROOT } from '../../helpers/service-process.js';

/** The JS reference over a whole image: rows of [filter, rowBytes bytes] -> rows back to back. */
function unfilterJs(filtered: Uint8Array, rowBytes: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const s = y * (rowBytes + 1);
    unfilterRow(filtered[s], filtered, s + 1, out, y * rowBytes, y ? (y - 1) * rowBytes : -1, rowBytes, bpp);
  }
  return out;
}

function filteredImage(width: number, height: number, bpp: number, filters: number[], seed: number): Uint8Array {
  const rowBytes = width * bpp;
  const bytes = Uint8Array.from(randomInts((rowBytes + 1) * height, 256, seed));
  for (let y = 0; y < height; y++) bytes[y * (rowBytes + 1)] = filters[y % filters.length];
  return bytes;
}

describe('PNG unfiltering in WebAssembly SIMD', () => {
  it('is assembled from png-unfilter-simd.wat: the committed bytes are what wabt makes of it today', async () => {
    const assembler = join(REPO_ROOT, 'gpu-service/deploy/assemble-wasm.mjs');
    const { assembleWasm, WASM_MODULES } = await import(pathToFileURL(assembler).href);
    expect(await assembleWasm(WASM_MODULES.pngUnfilter)).toBe(readFileSync(WASM_MODULES.pngUnfilter.bytes, 'utf8'));
  });

  it('equals the JS reference on every filter, 1 to 8-byte pixels, widths 1 to 33, one image after another', () => {
    let images = 0;
    for (const bpp of [1, 2, 3, 4, 6, 8]) {
      for (const width of [1, 2, 3, 5, 16, 33]) {
        for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0, 1, 3, 4]]) {
          for (const height of [1, 2, 9]) {
            const filtered = filteredImage(width, height, bpp, filters, images + 1);
            const simd = unfilterSimd(filtered, width * bpp, height, bpp);
            expect(simd, `bpp ${bpp} width ${width} filters ${filters} height ${height}`).toBeInstanceOf(Uint8Array);
            const same = Buffer.from(simd!).equals(unfilterJs(filtered, width * bpp, height, bpp));
            expect(same, `bpp ${bpp} width ${width} filters ${filters} height ${height}`).toBe(true);
            images++;
          }
        }
      }
    }
    // A large image, then a small one: the zero row above the first is zero again.
    const large = filteredImage(700, 5, 4, [1], 5);
    expect(Buffer.from(unfilterSimd(large, 2800, 5, 4)!).equals(unfilterJs(large, 2800, 5, 4))).toBe(true);
    const small = filteredImage(3, 2, 4, [4, 2], 6);
    expect(Buffer.from(unfilterSimd(small, 12, 2, 4)!).equals(unfilterJs(small, 12, 2, 4))).toBe(true);
  });

  it('packs 8-bit RGBA to RGB like samplesToRgb, any width', () => {
    for (const width of [1, 2, 3, 4, 5, 7, 8, 33]) {
      const filtered = filteredImage(width, 3, 4, [0, 4, 1], width);
      const rgb = unfilterSimd(filtered, width * 4, 3, 4, true);
      const reference = new Uint8Array(width * 3 * 3);
      samplesToRgb(unfilterJs(filtered, width * 4, 3, 4), { width, height: 3, bitDepth: 8, colourType: 6, palette: null }, reference);
      expect(Buffer.from(rgb!).equals(reference), `width ${width}`).toBe(true);
    }
  });

  it('answers null at a filter byte over 4', () => {
    expect(unfilterSimd(filteredImage(4, 3, 3, [0, 2, 5], 1), 12, 3, 3)).toBeNull();
    expect(unfilterSimd(filteredImage(4, 3, 1, [1, 7], 1), 4, 3, 1)).toBeNull();
  });
});
