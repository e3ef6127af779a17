import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageDimensions } from '../../../gpu-service/src/admission/image-dimensions.js';
import { decodeImage, readImageHeader, type DecodedRgb } from '../../../gpu-service/src/imaging/decode.js';
import { decodePngRgb } from '../../../gpu-service/src/imaging/png-decode.js';
import { scene } from '../../../bench/load.js';
import { chunk, chunkOffsets, encodePng, randomInts, type PngSpec } from '../../helpers/png-files.js';

/** Today's decode, all sharp: its header call, then its pipeline. */
const sharpPath = async (bytes: Uint8Array) => decodeImage(bytes, { header: await readImageHeader(bytes) });

/** The JavaScript decoder's RGB, failing the test where it falls back. */
function fastRgb(bytes: Uint8Array): Uint8Array {
  const stored = imageDimensions(bytes);
  const rgb = stored && decodePngRgb(bytes, stored);
  if (!rgb) throw new Error('the fast path fell back');
  return rgb;
}

type Outcome = { width: number; height: number; rgb: string } | { code: string };
async function outcome(decoding: Promise<DecodedRgb>): Promise<Outcome> {
  return decoding.then(
    (d) => ({ width: d.width, height: d.height, originalWidth: d.originalWidth, rgb: Buffer.from(d.rgb).toString('base64') }),
    (e: { code?: string }) => ({ code: e.code ?? 'not an ApiError' }),
  );
}

/** decodeImage equals the all-sharp path, byte for byte (or refuses with the same code). */
async function expectSameAsSharp(bytes: Uint8Array): Promise<Outcome> {
  const expected = await outcome(sharpPath(bytes));
  expect(await outcome(decodeImage(bytes))).toEqual(expected);
  return expected;
}

async function expectFastEqualsSharp(bytes: Uint8Array, label: string): Promise<Uint8Array> {
  const rgb = fastRgb(bytes);
  const reference = await sharpPath(bytes);
  expect(Buffer.from(rgb).equals(Buffer.from(reference.rgb)), label).toBe(true);
  const decoded = await decodeImage(bytes);
  expect(Buffer.from(decoded.rgb).equals(rgb), label).toBe(true);
  expect([decoded.originalWidth, decoded.originalHeight, decoded.format]).toEqual([reference.originalWidth, reference.originalHeight, 'png']);
  return rgb;
}

/** pngjs (a third-party decoder) agrees: its RGBA, 16-bit samples >> 8, alpha dropped. */
function expectPngjsAgrees(bytes: Uint8Array, rgb: Uint8Array, label: string): void {
  const png = PNG.sync.read(Buffer.from(bytes), { skipRescale: true });
  const depth16 = png.depth === 16;
  const data = png.data as unknown as ArrayLike<number>;
  const theirs = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * 4 + c];
      theirs[i * 3 + c] = depth16 ? v >> 8 : png.depth < 8 && !png.palette ? v * (255 / (2 ** png.depth - 1)) : v;
    }
  }
  expect(Buffer.from(theirs).equals(Buffer.from(rgb)), label).toBe(true);
}

const DEPTHS = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] } as const;
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;
const SIZES = [[1, 1], [1, 6], [6, 1], [3, 4], [7, 3], [13, 9]] as const;
const FILTERS = [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4, 4, 3, 2, 1]];

function spec(colourType: PngSpec['colourType'], bitDepth: PngSpec['bitDepth'], width: number, height: number, seed: number): PngSpec {
  const count = width * height * CHANNELS[colourType];
  const palette = colourType === 3 ? Uint8Array.from(randomInts(3 * Math.min(256, 2 ** bitDepth), 256, seed + 1)) : undefined;
  return { width, height, colourType, bitDepth, samples: randomInts(count, 2 ** bitDepth, seed), palette };
}

describe('PNG fast path: the same bytes as sharp', () => {
  it('every colour type and bit depth, each filter type, odd widths, one row and one column', async () => {
    let files = 0;
    for (const [type, depths] of Object.entries(DEPTHS)) {
      for (const depth of depths) {
        for (const [width, height] of SIZES) {
          for (const filters of FILTERS) {
            const s = { ...spec(Number(type) as PngSpec['colourType'], depth, width, height, files + 7), filters };
            const bytes = encodePng(s);
            const label = `type ${type} depth ${depth} ${width}x${height} filters ${filters}`;
            expectPngjsAgrees(bytes, await expectFastEqualsSharp(bytes, label), label);
            files++;
          }
        }
      }
    }
    expect(files).toBe(15 * SIZES.length * FILTERS.length);
  });

  it('16-bit samples: every value of every channel, grey, grey+alpha, RGB and RGBA (sharp keeps the high byte)', async () => {
    const all = Array.from({ length: 65536 }, (_, v) => v);
    for (const colourType of [0, 4, 2, 6] as const) {
      const channels = CHANNELS[colourType];
      const samples = new Array<number>(65536 * channels);
      for (let v = 0; v < 65536; v++) for (let c = 0; c < channels; c++) samples[v * channels + c] = (all[v] * (2 * c + 1) + c * 4099) & 0xffff;
      const bytes = encodePng({ width: 256, height: 256, colourType, bitDepth: 16, samples, filters: [0, 1, 2, 3, 4] });
      expectPngjsAgrees(bytes, await expectFastEqualsSharp(bytes, `16-bit type ${colourType}`), `16-bit type ${colourType}`);
    }
  });

  it('palettes: short palettes (indices past the end are black), tRNS, every depth; sharp-written palette PNGs', async () => {
    for (const depth of [1, 2, 4, 8] as const) {
      const s = spec(3, depth, 11, 5, depth);
      const short = { ...s, palette: s.palette!.subarray(0, 3 * Math.max(1, 2 ** depth / 2 - 1)), filters: [4, 3, 1] };
      const label = `short palette depth ${depth}`;
      const rgb = await expectFastEqualsSharp(encodePng(short), label);
      expect(rgb.subarray(0, 3).length).toBe(3);
      const withAlpha = { ...s, trns: Uint8Array.from(randomInts(Math.min(5, 2 ** depth), 256, 3)) };
      const bytes = encodePng(withAlpha);
      expectPngjsAgrees(bytes, await expectFastEqualsSharp(bytes, `palette + tRNS depth ${depth}`), `palette + tRNS depth ${depth}`);
    }
    const raw = Buffer.from(randomInts(37 * 23 * 4, 256, 5));
    for (const bitdepth of [1, 2, 4, 8] as const) {
      const bytes = await sharp(raw, { raw: { width: 37, height: 23, channels: 4 } }).png({ palette: true, colours: 2 ** bitdepth, dither: 0 }).toBuffer();
      expect([bytes[24], bytes[25]]).toEqual([bitdepth, 3]);
      expect(chunkOffsets(bytes).map((c) => c.type)).toContain('tRNS');
      await expectFastEqualsSharp(bytes, `sharp palette ${bitdepth}`);
    }
  });

  it('tRNS colour keys (grey, RGB, 1 to 16 bits) change nothing: alpha is dropped', async () => {
    for (const [type, depth, key] of [[0, 1, [0, 1]], [0, 4, [0, 7]], [0, 8, [0, 9]], [0, 16, [1, 2]], [2, 8, [0, 1, 0, 2, 0, 3]], [2, 16, [1, 2, 3, 4, 5, 6]]] as const) {
      const bytes = encodePng({ ...spec(type, depth, 9, 4, depth), trns: Uint8Array.from(key), filters: [1, 4] });
      await expectFastEqualsSharp(bytes, `colour key type ${type} depth ${depth}`);
    }
  });

  it('ancillary chunks (gAMA, sBIT, sRGB, cHRM, pHYs, text, ICC), chunks after the data, the data split over IDATs', async () => {
    const text = (s: string) => new TextEncoder().encode(s);
    const before = [
      { type: 'gAMA', data: Uint8Array.from([0, 0, 0x55, 0xf0]) }, // 0.22: libspng would change samples if it applied it
      { type: 'sBIT', data: Uint8Array.from([3, 3, 3]) },
      { type: 'cHRM', data: new Uint8Array(32).fill(7) },
      { type: 'pHYs', data: Uint8Array.from([0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]) },
      { type: 'tEXt', data: text('Comment\0hello') },
      { type: 'zTXt', data: Buffer.concat([text('Comment\0\0'), deflateSync(text('zipped words'))]) },
      { type: 'vpAg', data: new Uint8Array(9) }, // unknown ancillary
    ];
    const after = [{ type: 'tEXt', data: text('Software\0test') }];
    for (const idatParts of [1, 3, 7]) {
      const bytes = encodePng({ ...spec(2, 8, 17, 11, idatParts), filters: [4, 2, 3, 1, 0], before, after, idatParts });
      await expectFastEqualsSharp(bytes, `ancillary, ${idatParts} IDATs`);
    }
    const srgb = encodePng({ ...spec(6, 8, 5, 5, 1), before: [{ type: 'sRGB', data: Uint8Array.from([0]) }] });
    await expectFastEqualsSharp(srgb, 'sRGB');
    const p3 = await sharp(Buffer.from(randomInts(8 * 8 * 3, 256, 9)), { raw: { width: 8, height: 8, channels: 3 } }).withIccProfile('p3').png().toBuffer();
    expect(chunkOffsets(p3).map((c) => c.type)).toContain('iCCP');
    await expectFastEqualsSharp(p3, 'iCCP');
  });

  it('pngjs-written files: grey, grey+alpha, RGB, RGBA at 8 and 16 bits, each filter type', async () => {
    for (const colorType of [0, 2, 4, 6] as const) {
      for (const bitDepth of [8, 16] as const) {
        for (const filterType of [0, 1, 2, 3, 4]) {
          const png = new PNG({ width: 19, height: 7, colorType, inputColorType: 6, bitDepth, inputHasAlpha: true, filterType });
          const max = 2 ** bitDepth;
          const samples = randomInts(19 * 7 * 4, max, colorType * 31 + bitDepth + filterType);
          if (bitDepth === 16) png.data = Buffer.from(Uint16Array.from(samples).buffer);
          else png.data = Buffer.from(samples);
          const bytes = PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth, inputHasAlpha: true, filterType });
          await expectFastEqualsSharp(bytes, `pngjs type ${colorType} depth ${bitDepth} filter ${filterType}`);
        }
      }
    }
  });

  it('the 16 benchmark scenes', async () => {
    for (let seed = 1; seed <= 16; seed++) await expectFastEqualsSharp(await scene(seed), `scene ${seed}`);
  });
});

describe('PNG fast path: what it leaves to sharp', () => {
  const base = encodePng({ ...spec(2, 8, 20, 10, 3), filters: [1, 2, 3, 4], idatParts: 2 });
  const offsets = chunkOffsets(base);
  const at = (type: string, k = 0) => offsets.filter((c) => c.type === type)[k];
  const withByte = (offset: number, xor: number) => {
    const copy = Buffer.from(base);
    copy[offset] ^= xor;
    return copy;
  };
  const fallsBack = (bytes: Uint8Array) => {
    const stored = imageDimensions(bytes);
    return !stored || decodePngRgb(bytes, stored) === null;
  };

  it('interlaced and EXIF-oriented files go to sharp and still decode right', async () => {
    const raw = Buffer.from(randomInts(9 * 5 * 3, 256, 4));
    const interlaced = await sharp(raw, { raw: { width: 9, height: 5, channels: 3 } }).png({ progressive: true }).toBuffer();
    expect(interlaced[28]).toBe(1);
    expect(fallsBack(interlaced)).toBe(true);
    const plain = await sharp(raw, { raw: { width: 9, height: 5, channels: 3 } }).png().toBuffer();
    expect(Buffer.from((await decodeImage(interlaced)).rgb).equals(fastRgb(plain))).toBe(true);
    const oriented = await sharp(raw, { raw: { width: 9, height: 5, channels: 3 } }).withMetadata({ orientation: 6 }).png().toBuffer();
    expect(chunkOffsets(oriented).map((c) => c.type)).toContain('eXIf');
    expect(fallsBack(oriented)).toBe(true);
    const decoded = await decodeImage(oriented);
    expect([decoded.width, decoded.height, decoded.originalWidth, decoded.originalHeight]).toEqual([5, 9, 5, 9]);
    await expectSameAsSharp(oriented);
  });

  it('bad CRCs, corrupt or short zlib data, bad filters, odd chunks: sharp answers, the same answer as before', async () => {
    const idat = at('IDAT');
    const cases: Record<string, Uint8Array> = {
      'IDAT CRC': withByte(idat.offset + 8 + idat.length, 1),
      'IHDR CRC': withByte(29, 1),
      'zlib data': withByte(idat.offset + 8 + 5, 0x5a),
      'Adler-32': withByte(at('IDAT', 1).offset + 8 + at('IDAT', 1).length - 1, 1),
      'bad filter byte': encodePng({ ...spec(2, 8, 20, 10, 3), filters: [5] }),
      'stream longer than the image': Buffer.concat([base.subarray(0, 8), chunk('IHDR', Buffer.from([0, 0, 0, 20, 0, 0, 0, 9, 8, 2, 0, 0, 0])), base.subarray(33)]),
      'stream shorter than the image': Buffer.concat([base.subarray(0, 8), chunk('IHDR', Buffer.from([0, 0, 0, 20, 0, 0, 0, 11, 8, 2, 0, 0, 0])), base.subarray(33)]),
      'unknown critical chunk': encodePng({ ...spec(2, 8, 4, 4, 1), before: [{ type: 'ABCD', data: new Uint8Array(4) }] }),
      'tRNS before PLTE': encodePng({ ...spec(3, 8, 4, 4, 1), before: [{ type: 'tRNS', data: new Uint8Array(2) }] }),
      'palette image without PLTE': encodePng({ ...spec(3, 8, 4, 4, 1), palette: undefined }),
      'PLTE longer than the depth allows': encodePng({ ...spec(3, 1, 4, 4, 1), palette: new Uint8Array(9) }),
      'IHDR bit depth 3': Buffer.concat([base.subarray(0, 8), chunk('IHDR', Buffer.from([0, 0, 0, 20, 0, 0, 0, 10, 3, 0, 0, 0, 0])), base.subarray(33)]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(fallsBack(bytes), name).toBe(true);
      await expectSameAsSharp(bytes);
    }
  });

  it('truncated files: sharp refuses them as before (invalid_image)', async () => {
    const cuts = [20, 40, at('IDAT').offset + 30, at('IDAT', 1).offset + 4, at('IDAT', 1).offset + 8 + at('IDAT', 1).length - 3];
    for (const cut of cuts) {
      const bytes = base.subarray(0, cut);
      expect(fallsBack(bytes), `cut at ${cut}`).toBe(true);
      const answer = await expectSameAsSharp(bytes);
      expect(answer, `cut at ${cut}`).toHaveProperty('code');
    }
    // The last CRC cut short: sharp's pipeline does not check CRCs and decodes it; so does decodeImage.
    expect(await expectSameAsSharp(base.subarray(0, at('IEND').offset - 2))).toHaveProperty('rgb');
    // No IEND: the image data is whole, so the fast path decodes it (sharp too).
    await expectFastEqualsSharp(base.subarray(0, at('IEND').offset), 'no IEND');
  });

  it('a header over the pixel limit is refused before any inflate; a decompression bomb stops at the image size', async () => {
    const huge = Buffer.concat([base.subarray(0, 8), chunk('IHDR', Buffer.from([0, 0, 0x1b, 0x58, 0, 0, 0x1b, 0x58, 8, 0, 0, 0, 0])), base.subarray(33)]);
    expect(imageDimensions(huge)).toEqual({ width: 7000, height: 7000 });
    await expect(decodeImage(huge)).rejects.toMatchObject({ code: 'image_too_large' });
    await expectSameAsSharp(huge);
    // 100 x 100 grey whose zlib stream inflates to 256 MB of zeros (~250 KB compressed).
    const bombStream = deflateSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat([
      base.subarray(0, 8),
      chunk('IHDR', Buffer.from([0, 0, 0, 100, 0, 0, 0, 100, 8, 0, 0, 0, 0])),
      chunk('IDAT', bombStream),
      chunk('IEND', new Uint8Array(0)),
    ]);
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    expect(fallsBack(bomb)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500); // inflating it all takes far longer
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    const answer = await expectSameAsSharp(bomb);
    expect(answer).toMatchObject({ width: 100, height: 100 }); // sharp reads the rows it needs
  });
});

describe('JPEG and WebP without the separate header call: the same bytes as before', () => {
  it('bench scenes as JPEG, grey, CMYK and EXIF-rotated JPEGs, WebP with and without alpha', async () => {
    const raw = Buffer.from(randomInts(33 * 17 * 3, 256, 8));
    const image = () => sharp(raw, { raw: { width: 33, height: 17, channels: 3 } });
    const files = [
      ...(await Promise.all(Array.from({ length: 4 }, (_, i) => scene(i + 1, 480, 360, 'jpeg')))),
      await image().greyscale().jpeg().toBuffer(),
      await image().toColourspace('cmyk').jpeg().toBuffer(),
      await image().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      await image().jpeg({ progressive: true }).withMetadata({ orientation: 3 }).toBuffer(),
      await image().webp().toBuffer(),
      await image().ensureAlpha(0.5).webp({ lossless: true }).toBuffer(),
      await image().webp().withMetadata({ orientation: 8 }).toBuffer(),
    ];
    for (const bytes of files) {
      const answer = await expectSameAsSharp(bytes);
      expect(answer).toHaveProperty('rgb');
    }
    const rotated = await decodeImage(files[6]);
    expect([rotated.width, rotated.height, rotated.originalWidth, rotated.originalHeight]).toEqual([17, 33, 17, 33]);
    for (const cut of [files[0].length / 2, 200, 20]) await expectSameAsSharp(files[0].subarray(0, cut));
  });
});
