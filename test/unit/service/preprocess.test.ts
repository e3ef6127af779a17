import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import {
  decodeForNetwork,
  decodeImage,
  inverseLetterboxMatrix,
  letterboxMatrix,
  letterboxRgb,
  letterboxTransform,
  normaliseToChw,
  prepareImage,
} from '../../../gpu-service/src/imaging/index.js';
import { goldenPath, maxAbsDiff, preprocessNpy as npy, readPreprocessGolden, REPO_ROOT } from '../../helpers/golden.js';

const golden = readPreprocessGolden();
const { input_size: S, mean, std } = golden.meta;
const PAD = mean.map((m) => m * 255);

// Tolerances: our decode, matrix, warp and normalisation reproduce OpenCV/torch to the bit on these
// images (measured max difference 0); the assertions allow 1 grey level in the warp and 1e-6 in
// the network input so a libjpeg or rounding-mode difference on another machine is not a failure.
describe.each(golden.images.map((im) => [im.name, im] as const))('pre-processing %s', (_name, im) => {
  const bytes = readFileSync(goldenPath('preprocess', im.file));

  it('decodes to the reference RGB (EXIF-rotated, grey -> RGB)', async () => {
    const decoded = await decodeImage(bytes);
    expect([decoded.width, decoded.height]).toEqual([im.width, im.height]);
    expect(maxAbsDiff(decoded.rgb, npy<Uint8Array>(im.name, '_decoded_rgb'))).toBeLessThanOrEqual(1);
  });

  it('builds the reference affine matrices (float32 points, OpenCV LU)', () => {
    const t = letterboxTransform(im.width, im.height, S);
    expect(maxAbsDiff(letterboxMatrix(t), npy<Float64Array>(im.name, '_mat'))).toBeLessThan(1e-9);
    expect(maxAbsDiff(inverseLetterboxMatrix(t), npy<Float64Array>(im.name, '_mat_inv'))).toBeLessThan(1e-9);
  });

  it('letterboxes like cv2.warpAffine INTER_CUBIC and normalises like torch', async () => {
    const t = letterboxTransform(im.width, im.height, S);
    const decodedRgb = npy<Uint8Array>(im.name, '_decoded_rgb');
    const image = { width: im.width, height: im.height, originalWidth: im.width, originalHeight: im.height, rgb: decodedRgb, format: 'png' as const };
    const warped = letterboxRgb(image, t, PAD);
    expect(maxAbsDiff(warped, npy<Uint8Array>(im.name, '_warped_rgb'))).toBeLessThanOrEqual(1);
    const input = normaliseToChw(npy<Uint8Array>(im.name, '_warped_rgb'), S, mean, std);
    expect(maxAbsDiff(input, npy<Float32Array>(im.name, '_input'))).toBeLessThan(1e-6);
  });

  it('prepareImage gives the reference network input end to end', async () => {
    const prepared = await prepareImage(bytes, { size: S, mean, std, pad_rgb: PAD });
    // One grey level of warp difference is 1/255/std ~ 0.015 in the input.
    expect(maxAbsDiff(prepared.tensor, npy<Float32Array>(im.name, '_input'))).toBeLessThan(0.016);
    expect(prepared.transform).toMatchObject({ width: im.width, height: im.height, size: S });
    expect(prepared.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('prepareImage takes the bytes\' sha256 from a caller that has it (the parser hashed the upload once)', async () => {
    const known = 'ab'.repeat(32);
    const prepared = await prepareImage(bytes, { size: S, mean, std, pad_rgb: PAD }, { sha256: known });
    expect(prepared.sha256).toBe(known);
  });
});

describe('image input rules', () => {
  const expectApiError = async (promise: Promise<unknown>, code: string) => {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(code);
  };

  it('applies EXIF orientation (a phone photo stored sideways)', async () => {
    // 4x2 image, left half red, right half blue, stored with orientation 6 (rotate 90 cw to view).
    const raw = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) raw.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } }).withMetadata({ orientation: 6 }).png().toBuffer();
    const decoded = await decodeImage(jpeg);
    expect([decoded.width, decoded.height]).toEqual([2, 4]);
    // After a 90 degree clockwise turn the red (left) half is on top.
    expect(Array.from(decoded.rgb.subarray(0, 3))).toEqual([255, 0, 0]);
    expect(Array.from(decoded.rgb.subarray(decoded.rgb.length - 3))).toEqual([0, 0, 255]);
  });

  it('applies EXIF orientation of a JPEG on the exact (not shrunk) path', async () => {
    // 32x16: left half red, right half blue, orientation 8 (rotate 90 ccw to view): red ends at the bottom.
    const raw = new Uint8Array(32 * 16 * 3);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 32; x++) raw.set(x < 16 ? [255, 0, 0] : [0, 0, 255], (y * 32 + x) * 3);
    const jpeg = await sharp(raw, { raw: { width: 32, height: 16, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 8 }).toBuffer();
    const decoded = await decodeImage(jpeg);
    expect([decoded.width, decoded.height]).toEqual([16, 32]);
    const at = (x: number, y: number) => Array.from(decoded.rgb.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    const [topR, , topB] = at(8, 4);
    const [botR, , botB] = at(8, 28);
    expect(topB).toBeGreaterThan(200);
    expect(topR).toBeLessThan(60);
    expect(botR).toBeGreaterThan(200);
    expect(botB).toBeLessThan(60);
    const prepared = await prepareImage(jpeg, { size: S, mean, std, pad_rgb: PAD });
    expect(prepared.transform).toMatchObject({ width: 16, height: 32 });
  });

  it('turns grey+alpha and RGBA into RGB, dropping alpha', async () => {
    const rgba = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer();
    const decoded = await decodeImage(rgba);
    expect(decoded.rgb.length).toBe(3 * 2 * 3);
    expect(Array.from(decoded.rgb.subarray(0, 3))).toEqual([10, 20, 30]);
    const grey = await sharp(Buffer.from([7, 200, 7, 200]), { raw: { width: 2, height: 1, channels: 2 } }).png().toBuffer();
    const g = await decodeImage(grey);
    expect(Array.from(g.rgb)).toEqual([7, 7, 7, 7, 7, 7]);
  });

  it('scales 16-bit PNGs to 8 bits as cv2 does (value >> 8)', async () => {
    const px = new Uint16Array([65535, 0, 0, 32896, 32896, 32896]);
    const png16 = await sharp(px, { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    expect(Array.from((await decodeImage(png16)).rgb)).toEqual([255, 0, 0, 128, 128, 128]);
  });

  it('shrinks an EXIF-rotated large photo in its upright orientation', async () => {
    const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#808080' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const decoded = await decodeForNetwork(big, S);
    expect([decoded.originalWidth, decoded.originalHeight]).toEqual([3000, 4000]);
    expect(decoded.height).toBeGreaterThan(decoded.width);
    expect(decoded.height).toBeLessThan(1000);
  });

  it('ignores embedded ICC profiles as cv2 does (a Display-P3 photo gives its stored values)', async () => {
    const raw = new Uint8Array(8 * 8 * 3);
    for (let i = 0; i < raw.length; i += 3) raw.set([200, 40, 40], i);
    const p3 = await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).withIccProfile('p3').png().toBuffer();
    const dir = mkdtempSync(join(tmpdir(), 'icc-'));
    writeFileSync(join(dir, 'p3.png'), p3);
    const script = 'import cv2, json, sys; im = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR); print(json.dumps(im[:, :, ::-1].reshape(-1).tolist()))';
    const cv2Rgb = JSON.parse(execFileSync(join(REPO_ROOT, 'models', '.venv', 'bin', 'python'), ['-c', script, join(dir, 'p3.png')], { encoding: 'utf8' }));
    rmSync(dir, { recursive: true, force: true });
    const decoded = await decodeImage(p3);
    expect(Array.from(decoded.rgb)).toEqual(cv2Rgb);
    expect(Array.from(decoded.rgb.subarray(0, 3))).not.toEqual([200, 40, 40]); // the stored P3 values, not sRGB
  });

  it('decodes what cv2 decodes despite benign libjpeg warnings, and data after the end marker', async () => {
    const jpeg = readFileSync(goldenPath('preprocess', 'img_a_640x480.jpg'));
    const at = jpeg.indexOf(Buffer.from([0xff, 0xdb])); // DQT marker
    // "Corrupt JPEG data: 2 extraneous bytes before marker 0xdb": a warning, cv2 decodes it.
    const junk = Buffer.concat([jpeg.subarray(0, at), Buffer.from([0, 0]), jpeg.subarray(at)]);
    const reference = npy<Uint8Array>('img_a_640x480', '_decoded_rgb');
    expect(maxAbsDiff((await decodeImage(junk)).rgb, reference)).toBe(0);
    // Motion-photo style trailing data after EOI.
    const tail = Buffer.concat([jpeg, Buffer.from('ftypmp42 trailing video')]);
    expect(maxAbsDiff((await decodeImage(tail)).rgb, reference)).toBe(0);
    // A truncated PNG is refused like a truncated JPEG.
    const png = readFileSync(goldenPath('preprocess', 'img_b_300x500.png'));
    await expect(decodeImage(png.subarray(0, png.length - 100))).rejects.toMatchObject({ code: 'invalid_image' });
  });

  it('accepts WebP', async () => {
    const webp = await sharp({ create: { width: 5, height: 4, channels: 3, background: '#808080' } }).webp({ lossless: true }).toBuffer();
    const decoded = await decodeImage(webp);
    expect([decoded.width, decoded.height, decoded.format]).toEqual([5, 4, 'webp']);
  });

  it('refuses other formats, bytes that are no image, truncated files and too many pixels', async () => {
    const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } }).gif().toBuffer();
    await expectApiError(decodeImage(gif), 'unsupported_media_type');
    await expectApiError(decodeImage(new TextEncoder().encode('hello, not an image')), 'unsupported_media_type');
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f00' } }).jpeg().toBuffer();
    await expectApiError(decodeImage(jpeg.subarray(0, jpeg.length / 2)), 'invalid_image');
    await expectApiError(decodeImage(jpeg.subarray(0, 20)), 'invalid_image');
    // A PNG header claiming 30000 x 30000: refused from the header, before any decode.
    const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toBuffer();
    const huge = Buffer.from(png);
    huge.writeUInt32BE(30000, 16);
    huge.writeUInt32BE(30000, 20);
    huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29); // IHDR CRC over type + data
    await expectApiError(decodeImage(huge), 'image_too_large');
  });

  it('shrinks very large images on load and keeps the letterbox geometry of the original', async () => {
    const big = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#3060a0' } }).jpeg().toBuffer();
    const shrunk = await decodeForNetwork(big, S);
    expect(shrunk.width).toBeLessThan(1000);
    expect([shrunk.originalWidth, shrunk.originalHeight]).toEqual([4000, 3000]);
    const prepared = await prepareImage(big, { size: S, mean, std, pad_rgb: PAD });
    expect(prepared.transform).toMatchObject({ width: 4000, height: 3000 });
    const exact = await prepareImage(big, { size: S, mean, std, pad_rgb: PAD }, { exact: true });
    // A flat colour must come out the same either way, borders and content edges included.
    expect(maxAbsDiff(prepared.tensor, exact.tensor)).toBeLessThan(0.02);
  });
});
