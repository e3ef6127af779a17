/**
 * Mask decoders: every mask format the API returns, to one bitmap type. Pure functions over
 * typed arrays (PNG decoding needs DecompressionStream: browsers, Node 18+, not Hermes).
 */
import { base64ToBytes } from '../contract/base64.js';
import { decodeRle as decodeRleMask, stringToRuns } from '../contract/rle.js';
import type { Mask } from './wire.js';

/** A binary mask: [height * width] 0/1, row-major. */
export interface Bitmap {
  width: number;
  height: number;
  data: Uint8Array;
}

/** COCO compressed RLE counts (pycocotools' string form) -> run lengths, zeros first (contract/rle.ts). */
export const rleCounts: (counts: string) => number[] = stringToRuns;

/** COCO RLE (column-major runs) -> row-major bitmap. */
export function decodeRle(rle: { size: [number, number]; counts: string }): Bitmap {
  const [height, width] = rle.size;
  return { width, height, data: decodeRleMask(rle) };
}

/**
 * GeoJSON MultiPolygon coordinates in pixels (polygons -> rings -> [x, y]) -> bitmap. A pixel is
 * inside when its centre (x + 0.5, y + 0.5) is, by the even-odd rule over all rings (so holes,
 * given as inner rings, stay empty).
 */
export function rasterizePolygon(coordinates: number[][][][] | [number, number][][][], width: number, height: number): Bitmap {
  const data = new Uint8Array(width * height);
  const edges: Array<[number, number, number, number]> = [];
  for (const polygon of coordinates) {
    for (const ring of polygon) {
      for (let i = 0; i < ring.length; i++) {
        const a = ring[i]!;
        const b = ring[(i + 1) % ring.length]!;
        if (a[1] !== b[1]) edges.push([a[0]!, a[1]!, b[0]!, b[1]!]);
      }
    }
  }
  const crossings: number[] = [];
  for (let y = 0; y < height; y++) {
    const centreY = y + 0.5;
    crossings.length = 0;
    for (const [x0, y0, x1, y1] of edges) {
      // half-open rule: an edge covers [min y, max y), so shared vertices count once
      if ((y0 <= centreY && centreY < y1) || (y1 <= centreY && centreY < y0)) {
        crossings.push(x0 + ((centreY - y0) * (x1 - x0)) / (y1 - y0));
      }
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // pixels whose centre lies in [left, right)
      const first = Math.max(0, Math.ceil(crossings[k]! - 0.5));
      const last = Math.min(width - 1, Math.ceil(crossings[k + 1]! - 0.5) - 1);
      for (let x = first; x <= last; x++) data[y * width + x] = 1;
    }
  }
  return { width, height, data };
}

export { base64ToBytes };

async function inflate(zlibBytes: Uint8Array): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    throw new Error('PNG masks need DecompressionStream; ask for format "rle" or "polygon" on this platform');
  }
  const stream = new Blob([zlibBytes as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes PNG's per-row filters in place; returns the raw scanlines without filter bytes. */
function unfilter(raw: Uint8Array, height: number, stride: number, bytesPerPixel: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const row = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const base = y * stride;
    for (let i = 0; i < stride; i++) {
      const left = i >= bytesPerPixel ? out[base + i - bytesPerPixel]! : 0;
      const up = y > 0 ? out[base - stride + i]! : 0;
      const upLeft = y > 0 && i >= bytesPerPixel ? out[base - stride + i - bytesPerPixel]! : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter];
      if (predictor === undefined) throw new Error(`PNG filter ${filter} is not valid`);
      out[base + i] = (row[i]! + predictor) & 0xff;
    }
  }
  return out;
}

/** A mask PNG (non-interlaced; grey, grey+alpha, RGB, RGBA or palette) -> bitmap, inside = first channel >= 128. */
export async function decodePngMask(png: Uint8Array | string): Promise<Bitmap> {
  const bytes = typeof png === 'string' ? base64ToBytes(png) : png;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint32(0) !== 0x89504e47) throw new Error('not a PNG');
  let width = 0, height = 0, bitDepth = 0, colourType = 0;
  let palette: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      bitDepth = body[8]!;
      colourType = body[9]!;
      if (body[12] !== 0) throw new Error('interlaced PNG masks are not supported');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const channels = CHANNELS[colourType];
  if (!channels || !width || !height) throw new Error('PNG header missing or of an unknown colour type');
  if (bitDepth !== 8 && !(channels === 1 && bitDepth < 8)) throw new Error(`PNG bit depth ${bitDepth} is not supported`);
  const compressed = new Uint8Array(idat.reduce((n, part) => n + part.length, 0));
  idat.reduce((at, part) => (compressed.set(part, at), at + part.length), 0);
  const stride = Math.ceil((width * channels * bitDepth) / 8);
  const pixels = unfilter(await inflate(compressed), height, stride, Math.max(1, (channels * bitDepth) / 8));
  const data = new Uint8Array(width * height);
  const maxSample = 2 ** bitDepth - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sample: number;
      if (bitDepth === 8) sample = pixels[y * stride + x * channels]!;
      else {
        const bit = x * bitDepth;
        sample = (pixels[y * stride + (bit >> 3)]! >> (8 - bitDepth - (bit & 7))) & maxSample;
      }
      const level = colourType === 3 ? (palette?.[sample * 3] ?? 0) : Math.round((sample * 255) / maxSample);
      data[y * width + x] = level >= 128 ? 1 : 0;
    }
  }
  return { width, height, data };
}

/** Any API mask -> bitmap; width and height are the result's (polygons carry no size). */
export async function maskToBitmap(mask: Mask, width: number, height: number): Promise<Bitmap> {
  switch (mask.format) {
    case 'polygon':
      return rasterizePolygon(mask.coordinates, width, height);
    case 'rle':
      return decodeRle(mask);
    case 'png':
      return decodePngMask(mask.data);
  }
}

/** Whether mask pixel (x, y) is inside and touches the outside (or the image border). */
export function isBoundary(bitmap: Bitmap, x: number, y: number): boolean {
  const { width, height, data } = bitmap;
  const i = y * width + x;
  if (!data[i]) return false;
  return x === 0 || y === 0 || x === width - 1 || y === height - 1 || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width];
}

/**
 * Bitmap -> RGBA pixels (a canvas ImageData's layout): `fill` inside, `edge` on the mask's boundary
 * pixels (default `fill`), transparent outside.
 */
export function bitmapToRgba(
  bitmap: Bitmap,
  fill: [number, number, number, number],
  edge: [number, number, number, number] = fill,
): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(bitmap.width * bitmap.height * 4);
  for (let y = 0; y < bitmap.height; y++) {
    for (let x = 0; x < bitmap.width; x++) {
      const i = y * bitmap.width + x;
      if (bitmap.data[i]) rgba.set(isBoundary(bitmap, x, y) ? edge : fill, i * 4);
    }
  }
  return rgba;
}

/** Intersection over union of two bitmaps of one size (1 when both are empty). */
export function bitmapIoU(a: Bitmap, b: Bitmap): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('bitmaps differ in size');
  let intersection = 0, union = 0;
  for (let i = 0; i < a.data.length; i++) {
    intersection += a.data[i]! & b.data[i]!;
    union += a.data[i]! | b.data[i]!;
  }
  return union === 0 ? 1 : intersection / union;
}
