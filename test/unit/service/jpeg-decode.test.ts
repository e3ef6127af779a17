import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageDimensions } from '../../../gpu-service/src/admission/image-dimensions.js';
import { decodeImage, readImageHeader, type DecodedRgb } from '../../../gpu-service/src/imaging/decode.js';
import { decodeJpegRgb, JPEG_WASM_MAX_PIXELS } from '../../../gpu-service/src/imaging/jpeg-decode.js';
import { exifOrientation, readJpegLayout } from '../../../gpu-service/src/imaging/jpeg-layout.js';
import { scene } from '../../../bench/load.js';
import { goldenPath } from '../../helpers/golden.js';
import { randomInts } from '../../helpers/png-files.js';
import { REPO_ROOT } from '../../helpers/service-process.js';

/** Today's decode, all sharp: its header call, then its pipeline. */
const sharpPath = async (bytes: Uint8Array) => decodeImage(bytes, { header: await readImageHeader(bytes) });

type Outcome = { width: number; height: number; rgb: string } | { code: string };
async function outcome(decoding: Promise<DecodedRgb>): Promise<Outcome> {
  return decoding.then(
    (d) => ({ width: d.width, height: d.height, originalWidth: d.originalWidth, originalHeight: d.originalHeight, rgb: Buffer.from(d.rgb).toString('base64') }),
    (e: { code?: string }) => ({ code: e.code ?? 'not an ApiError' }),
  );
}

/** decodeImage equals the all-sharp path, byte for byte (or refuses with the same code). */
async function expectSameAsSharp(bytes: Uint8Array, label: string): Promise<Outcome> {
  const expected = await outcome(sharpPath(bytes));
  expect(await outcome(decodeImage(bytes)), label).toEqual(expected);
  return expected;
}

/** The WebAssembly path's own answer (failing where it falls back), equal to sharp's. */
async function expectWasmEqualsSharp(bytes: Uint8Array, label: string): Promise<void> {
  const stored = imageDimensions(bytes);
  const ours = stored && (await decodeJpegRgb(bytes, stored));
  expect(ours, `${label}: the WebAssembly path fell back`).toBeTruthy();
  const reference = await sharpPath(bytes);
  expect([ours!.width, ours!.height], label).toEqual([reference.width, reference.height]);
  expect(Buffer.from(ours!.rgb).equals(Buffer.from(reference.rgb)), `${label}: RGB differs from sharp's`).toBe(true);
  await expectSameAsSharp(bytes, label);
}

const fallsBack = async (bytes: Uint8Array) => {
  const stored = imageDimensions(bytes);
  return !stored || (await decodeJpegRgb(bytes, stored)) === null;
};

/** Natural content (the golden photo) at any size, or noise, as packed RGB. */
async function pixels(width: number, height: number, kind: 'photo' | 'noise', seed = 1): Promise<Buffer> {
  if (kind === 'noise') return Buffer.from(randomInts(width * height * 3, 256, seed));
  return sharp(goldenPath('preprocess', 'img_a_640x480.jpg')).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
}

/** libjpeg-turbo's own encoder (the package's full build) for the subsamplings sharp cannot write. */
async function turboEncoder() {
  const require = createRequire(import.meta.url);
  const module = await require('@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs')();
  return (rgb: Buffer, width: number, height: number, subsampling: number, progressive: boolean, quality: number): Uint8Array => {
    const encoder = new module.JPEGEncoder();
    encoder.getDecodedBuffer({ width, height, bitsPerSample: 8, componentCount: 3, isSigned: false }).set(rgb);
    encoder.setQuality(quality);
    encoder.setProgressive(progressive ? 1 : 0);
    encoder.setSubSampling(subsampling);
    encoder.encode();
    const out = new Uint8Array(encoder.getEncodedBuffer());
    encoder.delete();
    return out;
  };
}
const TJSAMP = { '4:2:2': 1, '4:4:0': 4, '4:1:1': 5 } as const;

/** Restart-marker files made with OpenCV's libjpeg-turbo (test/fixtures/jpeg/README.md). */
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'jpeg');

describe('JPEG through the WebAssembly libjpeg-turbo: the bytes sharp gives', () => {
  it('baseline and progressive, 4:2:0 and 4:4:4, grey, odd sizes, qualities (sharp-encoded)', { timeout: 60_000 }, async () => {
    const sizes = [[1, 1], [7, 5], [16, 16], [33, 17], [97, 61], [161, 203], [480, 360], [8, 300]] as const;
    let count = 0;
    for (const [width, height] of sizes) {
      for (const kind of ['photo', 'noise'] as const) {
        const raw = await pixels(width, height, kind, width * 31 + height);
        const image = () => sharp(raw, { raw: { width, height, channels: 3 } });
        for (const progressive of [false, true]) {
          for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
            for (const quality of [40, 92, 100]) {
              const bytes = await image().jpeg({ progressive, chromaSubsampling, quality }).toBuffer();
              await expectWasmEqualsSharp(bytes, `${width}x${height} ${kind} ${progressive ? 'progressive' : 'baseline'} ${chromaSubsampling} q${quality}`);
              count++;
            }
          }
          const grey = await image().toColourspace('b-w').jpeg({ progressive, quality: 85 }).toBuffer();
          expect(readJpegLayout(grey)?.components).toHaveLength(1);
          await expectWasmEqualsSharp(grey, `${width}x${height} ${kind} grey ${progressive}`);
          count++;
        }
      }
    }
    for (let i = 1; i <= 16; i++) await expectWasmEqualsSharp(await scene(i, 480, 360, 'jpeg'), `bench scene ${i}`);
    expect(count).toBe(sizes.length * 2 * 2 * 7);
  });

  it('4:2:2, 4:4:0 and 4:1:1 (libjpeg-turbo-encoded) and restart markers (OpenCV-encoded)', { timeout: 60_000 }, async () => {
    const encode = await turboEncoder();
    for (const [width, height] of [[33, 17], [97, 61], [127, 95], [480, 360]] as const) {
      const raw = await pixels(width, height, 'photo');
      for (const [name, subsampling] of Object.entries(TJSAMP)) {
        for (const progressive of [false, true]) {
          const bytes = encode(raw, width, height, subsampling, progressive, 85);
          await expectWasmEqualsSharp(bytes, `${width}x${height} ${name} ${progressive ? 'progressive' : 'baseline'}`);
        }
      }
    }
    const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.jpg'));
    expect(fixtures.length).toBeGreaterThanOrEqual(6);
    for (const file of fixtures) {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, file)));
      expect(Buffer.from(bytes).includes(Buffer.from([0xff, 0xdd])), `${file} has a DRI marker`).toBe(true);
      await expectWasmEqualsSharp(bytes, file);
    }
  });

  it('every EXIF orientation, colour and grey, applied as sharp applies it', async () => {
    for (const [width, height] of [[33, 17], [6, 11]] as const) {
      const raw = await pixels(width, height, 'noise', 7);
      const greyJpeg = await sharp(raw, { raw: { width, height, channels: 3 } }).toColourspace('b-w').jpeg({ quality: 90 }).toBuffer();
      for (let orientation = 1; orientation <= 8; orientation++) {
        const colour = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).withMetadata({ orientation }).toBuffer();
        for (const grey of [false, true]) {
          // sharp writes EXIF only with sRGB output: the grey file gets the colour one's APP1
          const bytes = grey ? Buffer.concat([greyJpeg.subarray(0, 2), app1Segment(colour), greyJpeg.subarray(2)]) : colour;
          expect(readJpegLayout(bytes)).toMatchObject({ orientation, components: { length: grey ? 1 : 3 } });
          await expectWasmEqualsSharp(bytes, `orientation ${orientation}${grey ? ' grey' : ''} ${width}x${height}`);
          const decoded = await decodeImage(bytes);
          const swap = orientation >= 5;
          expect([decoded.width, decoded.height, decoded.originalWidth]).toEqual([swap ? height : width, swap ? width : height, swap ? height : width]);
        }
      }
    }
  });
});

/** A JPEG's first APP1 segment, marker included. */
function app1Segment(jpeg: Buffer): Buffer {
  const at = jpeg.indexOf(Buffer.from([0xff, 0xe1]));
  return jpeg.subarray(at, at + 2 + jpeg.readUInt16BE(at + 2));
}

describe('JPEG files the WebAssembly path leaves to sharp: the same answer as before', () => {
  const photo = async (width = 97, height = 61) => new Uint8Array(await sharp(await pixels(width, height, 'photo'), { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());

  it('truncated and corrupt files: refused or decoded exactly as sharp does', async () => {
    const base = await photo();
    const progressive = new Uint8Array(await sharp(base).jpeg({ progressive: true }).toBuffer());
    for (const [name, bytes] of [['baseline', base], ['progressive', progressive]] as const) {
      for (const cut of [4, 20, 200, Math.floor(bytes.length / 2), bytes.length - 40, bytes.length - 2]) {
        const cutBytes = bytes.subarray(0, cut);
        expect(await fallsBack(cutBytes), `${name} cut at ${cut}`).toBe(true);
        await expectSameAsSharp(cutBytes, `${name} cut at ${cut}`);
      }
      const sos = Buffer.from(bytes).lastIndexOf(Buffer.from([0xff, 0xda]));
      for (const at of [sos + 20, sos + 60, bytes.length - 30]) {
        const corrupt = new Uint8Array(bytes);
        corrupt[at] ^= 0x5a;
        await expectSameAsSharp(corrupt, `${name} byte ${at} flipped`);
      }
      await expectSameAsSharp(new Uint8Array([...bytes, 1, 2, 3, 0xff, 0xd9]), `${name} junk after EOI`);
    }
    await expectSameAsSharp(new Uint8Array([0xff, 0xd8, 0xff, 0xdb, 0, 3, 0]), 'garbage table');
  });

  it('random damage (bytes changed, inserted, removed, cut): the same code or size as sharp; the same pixels unless the damage is inside the entropy-coded data', { timeout: 60_000 }, async () => {
    const bases = [
      await photo(),
      new Uint8Array(await sharp(await photo()).jpeg({ progressive: true }).toBuffer()),
      new Uint8Array(await sharp(await photo(40, 30)).toColourspace('b-w').jpeg().toBuffer()),
      new Uint8Array(await sharp(await photo(50, 30)).jpeg({ chromaSubsampling: '4:4:4' }).withMetadata({ orientation: 6 }).toBuffer()),
    ];
    const random = randomInts(4 * 600, 1 << 24, 99);
    let decodedHere = 0;
    for (let i = 0; i < 600; i++) {
      const base = Buffer.from(bases[i % bases.length]);
      const [kind, at, a, b] = [random[4 * i] % 4, random[4 * i + 1] % base.length, random[4 * i + 2] & 255, random[4 * i + 3] & 255];
      const damaged =
        kind === 0 ? Buffer.concat([base.subarray(0, at), Buffer.from([a]), base.subarray(at + 1)])
        : kind === 1 ? Buffer.concat([base.subarray(0, at), Buffer.from([a, b]), base.subarray(at)])
        : kind === 2 ? Buffer.concat([base.subarray(0, at), base.subarray(at + 1 + (a % 8))])
        : base.subarray(0, Math.max(2, at));
      if (!(await fallsBack(damaged))) decodedHere++;
      const label = `damage ${i}: kind ${kind} at ${at}`;
      const [expected, actual] = [await outcome(sharpPath(damaged)), await outcome(decodeImage(damaged))];
      const { rgb: _e, ...expectedShape } = expected as { rgb?: string };
      const { rgb: _a, ...actualShape } = actual as { rgb?: string };
      expect(actualShape, label).toEqual(expectedShape);
      // Undetected garbage in the entropy-coded data can give coefficients out of range, where
      // libjpeg-turbo's C inverse DCT (the WebAssembly build) and its SIMD one (sharp's) differ.
      const entropyData = at > base.indexOf(Buffer.from([0xff, 0xda])) + 2 + base.readUInt16BE(base.indexOf(Buffer.from([0xff, 0xda])) + 2);
      if (!entropyData || kind !== 1) expect(actual, label).toEqual(expected);
    }
    expect(decodedHere).toBeGreaterThan(100);
  });

  it('CMYK, Adobe-marked, 12-bit, over the size threshold, two EXIF blocks: sharp decodes them', async () => {
    const raw = await pixels(33, 17, 'photo');
    const image = () => sharp(raw, { raw: { width: 33, height: 17, channels: 3 } });
    const cmyk = await image().toColourspace('cmyk').jpeg().toBuffer();
    const large = new Uint8Array(await sharp(await pixels(640, 480, 'photo'), { raw: { width: 640, height: 480, channels: 3 } }).jpeg().toBuffer());
    expect(640 * 480).toBeGreaterThan(JPEG_WASM_MAX_PIXELS);
    const oriented = await image().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const twoExif = Buffer.concat([oriented.subarray(0, 2), app1Segment(oriented), oriented.subarray(2)]);
    const sof = Buffer.from(await photo()).indexOf(Buffer.from([0xff, 0xc0]));
    const twelveBit = Buffer.from(await photo());
    twelveBit[sof + 4] = 12;
    for (const [name, bytes] of Object.entries({ cmyk, large, twoExif, twelveBit })) {
      expect(await fallsBack(bytes), name).toBe(true);
      await expectSameAsSharp(bytes, name);
    }
    expect(readJpegLayout(cmyk)).toMatchObject({ adobe: true });
  });

  it('the pixel limit is checked from the header before any decode', async () => {
    const bytes = Buffer.from(await photo());
    const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
    bytes.writeUInt16BE(7000, sof + 5);
    bytes.writeUInt16BE(7000, sof + 7);
    expect(imageDimensions(bytes)).toEqual({ width: 7000, height: 7000 });
    await expect(decodeImage(bytes)).rejects.toMatchObject({ code: 'image_too_large' });
    await expect(decodeImage(await photo(), { maxPixels: 97 * 61 - 1 })).rejects.toMatchObject({ code: 'image_too_large' });
    await expectSameAsSharp(bytes, '7000x7000 header');
  });
});

describe('exifOrientation (what libexif gives libvips, or null)', () => {
  /** "Exif\0\0" + a little-endian TIFF whose IFD0 holds `entries` ([tag, type, count, value]), then `next`. */
  const exif = (entries: [number, number, number, number][], next = 0) => {
    const tiff = Buffer.alloc(8 + 2 + 12 * entries.length + 4);
    tiff.write('II', 0, 'latin1');
    tiff.writeUInt16LE(42, 2);
    tiff.writeUInt32LE(8, 4);
    tiff.writeUInt16LE(entries.length, 8);
    entries.forEach(([tag, type, count, value], i) => {
      tiff.writeUInt16LE(tag, 10 + 12 * i);
      tiff.writeUInt16LE(type, 12 + 12 * i);
      tiff.writeUInt32LE(count, 14 + 12 * i);
      tiff.writeUInt16LE(value, 18 + 12 * i);
    });
    tiff.writeUInt32LE(next, 10 + 12 * entries.length);
    return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  };

  it('reads IFD0; unsure cases answer null', () => {
    expect(exifOrientation(exif([[0x0112, 3, 1, 6]]))).toBe(6);
    expect(exifOrientation(exif([[0x010f, 2, 1, 0]]))).toBe(1); // no orientation, no other IFD
    expect(exifOrientation(exif([[0x010f, 2, 1, 0]], 40))).toBeNull(); // IFD1 could hold it
    expect(exifOrientation(exif([[0x8769, 4, 1, 40]]))).toBeNull(); // so could the EXIF IFD
    expect(exifOrientation(exif([[0x0112, 3, 1, 9]]))).toBeNull();
    expect(exifOrientation(exif([[0x0112, 4, 1, 6]]))).toBeNull(); // LONG, not SHORT
    expect(exifOrientation(exif([[0x0112, 3, 1, 6], [0x0112, 3, 1, 3]]))).toBeNull();
    expect(exifOrientation(exif([[0x0112, 3, 1, 6]]).subarray(0, 20))).toBeNull();
  });
});
