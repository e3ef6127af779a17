/**
 * PNG files made byte by byte for the decoder tests: any colour type and bit depth, a chosen
 * filter per row, palette, tRNS, extra chunks and IDAT splits (pngjs and sharp write only some of
 * these). Also the chunk surgery the corruption tests need.
 */
import { crc32, deflateSync } from 'node:zlib';

export interface PngSpec {
  width: number;
  height: number;
  colourType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Samples, one per channel per pixel, row-major (values < 2 ** bitDepth). */
  samples: ArrayLike<number>;
  /** Filter type of each row, cycled (default: None). */
  filters?: number[];
  palette?: Uint8Array;
  trns?: Uint8Array;
  /** Chunks placed before IDAT, and after it. */
  before?: Chunk[];
  after?: Chunk[];
  /** Split the zlib stream into this many IDAT chunks (one may be empty). */
  idatParts?: number;
  interlace?: 0 | 1;
}

export interface Chunk {
  type: string;
  data: Uint8Array;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export function encodePng(spec: PngSpec): Buffer {
  const { width, height, colourType, bitDepth } = spec;
  const channels = CHANNELS[colourType];
  const rowBytes = Math.ceil((width * channels * bitDepth) / 8);
  const bpp = Math.max(1, (channels * bitDepth) >> 3);
  const raw = Buffer.alloc(height * rowBytes);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const v = spec.samples[y * width * channels + i];
      const at = y * rowBytes;
      if (bitDepth === 16) raw.writeUInt16BE(v, at + 2 * i);
      else if (bitDepth === 8) raw[at + i] = v;
      else raw[at + ((i * bitDepth) >> 3)] |= v << (8 - bitDepth - ((i * bitDepth) % 8));
    }
  }
  const filters = spec.filters ?? [0];
  const filtered = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const filter = filters[y % filters.length];
    const row = raw.subarray(y * rowBytes, (y + 1) * rowBytes);
    const prev = y ? raw.subarray((y - 1) * rowBytes, y * rowBytes) : Buffer.alloc(rowBytes);
    filtered[y * (rowBytes + 1)] = filter;
    for (let i = 0; i < rowBytes; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      filtered[y * (rowBytes + 1) + 1 + i] = (row[i] - predictor) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, colourType, 0, 0, spec.interlace ?? 0], 8);
  const stream = deflateSync(filtered);
  const parts = spec.idatParts ?? 1;
  const cut = (k: number) => Math.round((stream.length * k) / parts);
  const idat = Array.from({ length: parts }, (_, k) => chunk('IDAT', stream.subarray(cut(k), cut(k + 1))));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(spec.before ?? []).map((c) => chunk(c.type, c.data)),
    ...(spec.palette ? [chunk('PLTE', spec.palette)] : []),
    ...(spec.trns ? [chunk('tRNS', spec.trns)] : []),
    ...idat,
    ...(spec.after ?? []).map((c) => chunk(c.type, c.data)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

function paeth(a: number, b: number, c: number): number {
  const pa = Math.abs(b - c);
  const pb = Math.abs(a - c);
  const pc = Math.abs(a + b - 2 * c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Where each chunk of a PNG starts, with its type. */
export function chunkOffsets(png: Uint8Array): { type: string; offset: number; length: number }[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = [];
  for (let offset = 8; offset + 8 <= png.length; ) {
    const length = view.getUint32(offset);
    out.push({ type: Buffer.from(png.subarray(offset + 4, offset + 8)).toString('latin1'), offset, length });
    offset += 12 + length;
  }
  return out;
}

/** Deterministic pseudo-random integers in [0, n). */
export function randomInts(count: number, n: number, seed: number): number[] {
  let state = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return Math.floor(((state >>> 8) / 2 ** 24) * n);
  });
}
