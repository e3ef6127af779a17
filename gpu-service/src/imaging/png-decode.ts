/**
 * PNG -> packed RGB without sharp (node:zlib, the row filters in WebAssembly SIMD, the packing to
 * RGB in JavaScript except for RGBA) for the files where the result is known to equal sharp's
 * (libvips + libspng: no gamma, no sBIT, palette and tRNS expanded, alpha dropped, 16-bit
 * samples >> 8, grey replicated): non-interlaced, every chunk's CRC right, no eXIf (orientation),
 * the zlib stream exactly the image's size. Anything else answers null and the caller decodes
 * with sharp, so odd and broken files keep sharp's behaviour and error codes. The size is checked
 * against the pixel limit by the caller (imageDimensions) before this inflates anything, and the
 * inflate is bounded by the image's size (a decompression bomb stops there).
 */
import { crc32, inflateSync } from 'node:zlib';
import type { Dimensions } from '../admission/image-dimensions.js';
import type { ArrayPool } from '../core/array-pool.js';
import { CHANNELS, samplesToRgb, unfilterRow, type PngSamples } from './png-pixels.js';
import { unfilterSimd } from './png-unfilter-simd.js';
import { uninitialised } from './uninitialised.js';

/** Compressed ancillary chunks (iCCP, zTXt, iTXt) libspng inflates: past this, sharp decides (its chunk limits). */
const MAX_COMPRESSED_ANCILLARY_BYTES = 32 * 1024;
/** Ancillary chunks before the image data: past this, sharp decides (libspng counts chunks). */
const MAX_ANCILLARY_CHUNKS = 64;

const IHDR = 0x49484452;
const PLTE = 0x504c5445;
const IDAT = 0x49444154;
const EXIF = 0x65584966; // eXIf
const TRNS = 0x74524e53;
const BKGD = 0x624b4744;
const HIST = 0x68495354;
const COMPRESSED = new Set([0x69434350, 0x7a545874, 0x69545874]); // iCCP, zTXt, iTXt

interface PngLayout extends PngSamples {
  /** The IDAT chunks' data, in order. */
  idat: Uint8Array[];
}

/**
 * Packed RGB of a PNG this path covers, [height, width, 3]; null for every other file. With a
 * pool the pixels are taken from it (the caller gives them back when done with them).
 */
export function decodePngRgb(bytes: Uint8Array, stored: Dimensions, pool?: ArrayPool): Uint8Array | null {
  const layout = readLayout(bytes);
  if (!layout || layout.width !== stored.width || layout.height !== stored.height) return null;
  const { width, height, bitDepth, colourType } = layout;
  const channels = CHANNELS[colourType];
  const rowBytes = Math.ceil((width * channels * bitDepth) / 8);
  const stride = rowBytes + 1; // filter byte + samples
  const expected = stride * height;
  const filtered = inflateExactly(layout.idat, expected);
  if (!filtered) return null;
  const bpp = Math.max(1, (channels * bitDepth) >> 3); // filter distance in bytes
  const plainRgb = colourType === 2 && bitDepth === 8;
  const rgba8 = colourType === 6 && bitDepth === 8;
  const unfiltered = unfilterSimd(filtered, rowBytes, height, bpp, rgba8); // RGBA8 as RGB
  if (unfiltered === null) return null;
  // Not zero-filled: the unfiltering or the packing writes every byte.
  const rgb = pool ? pool.uint8(width * height * 3) : uninitialised(width * height * 3); // [height, width, 3]
  if (unfiltered) {
    if (plainRgb || rgba8) rgb.set(unfiltered);
    else samplesToRgb(unfiltered, layout, rgb);
    return rgb;
  }
  // The unfiltered rows back to back: 8-bit RGB straight into the output, the others into the
  // inflated bytes themselves, each row moved left over its filter byte (and the rows' before it;
  // a forward pass reads each byte before it is overwritten), word-aligned for the packing.
  const samples = plainRgb ? rgb : filtered.byteOffset % 4 === 0 ? filtered : uninitialised(rowBytes * height);
  for (let y = 0, s = 0, d = 0; y < height; y++, s += stride, d += rowBytes) {
    const filter = filtered[s];
    if (filter > 4) return null;
    unfilterRow(filter, filtered, s + 1, samples, d, y ? d - rowBytes : -1, rowBytes, bpp);
  }
  if (!plainRgb) samplesToRgb(samples, layout, rgb);
  return rgb;
}

/** The chunks up to the end of the image data, checked; null where sharp must decide. */
function readLayout(bytes: Uint8Array): PngLayout | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || view.getUint32(4) !== 0x0d0a1a0a || view.getUint32(8) !== 13 || view.getUint32(12) !== IHDR) return null;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [bitDepth, colourType, compression, filterMethod, interlace] = bytes.subarray(24, 29);
  if (!validDepth(colourType, bitDepth) || compression !== 0 || filterMethod !== 0 || interlace !== 0) return null;
  let palette: Uint8Array | null = null;
  let beforePalette = false; // a tRNS, bKGD or hIST before PLTE: libspng refuses the PLTE
  const idat: Uint8Array[] = [];
  let ancillary = 0;
  let compressedBytes = 0;
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const type = view.getUint32(offset + 4);
    const end = offset + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) return null;
    if (idat.length && type !== IDAT) break; // libspng stops reading at the end of the image data
    const data = bytes.subarray(offset + 8, end - 4);
    if (crc32(bytes.subarray(offset + 4, end - 4)) !== view.getUint32(end - 4)) return null;
    offset = end;
    if (type === IHDR) {
      if (offset !== 33) return null;
    } else if (type === IDAT) {
      idat.push(data);
    } else if (type === PLTE) {
      if (palette || beforePalette || length === 0 || length % 3 !== 0 || length / 3 > 256) return null;
      if (colourType === 3 && length / 3 > 1 << bitDepth) return null;
      if (colourType === 0 || colourType === 4) return null; // libspng accepts it; not worth a rule here
      palette = new Uint8Array(256 * 3);
      palette.set(data);
    } else if ((type >>> 29) & 1) {
      // Ancillary (lower-case first letter): libspng ignores or discards it, except eXIf (orientation).
      if (type === EXIF || ++ancillary > MAX_ANCILLARY_CHUNKS) return null;
      if (type === TRNS || type === BKGD || type === HIST) beforePalette ||= !palette;
      if (COMPRESSED.has(type) && (compressedBytes += length) > MAX_COMPRESSED_ANCILLARY_BYTES) return null;
    } else {
      return null; // IEND before the data, an unknown critical chunk
    }
  }
  if (!idat.length || (colourType === 3 && !palette)) return null;
  return { width, height, bitDepth, colourType, palette: colourType === 3 ? palette : null, idat };
}

function validDepth(colourType: number, bitDepth: number): boolean {
  if (colourType === 0) return [1, 2, 4, 8, 16].includes(bitDepth);
  if (colourType === 3) return [1, 2, 4, 8].includes(bitDepth);
  return (colourType === 2 || colourType === 4 || colourType === 6) && (bitDepth === 8 || bitDepth === 16);
}

/** The zlib stream inflated, exactly `expected` bytes (never more are produced); null otherwise. */
function inflateExactly(idat: Uint8Array[], expected: number): Buffer | null {
  const stream = idat.length === 1 ? idat[0] : Buffer.concat(idat);
  try {
    // One output buffer of expected + 1 bytes: a longer stream fills it and throws.
    const out = inflateSync(stream, { chunkSize: Math.max(64, expected + 1), maxOutputLength: expected });
    return out.length === expected ? out : null;
  } catch {
    return null; // corrupt, truncated, too long, a preset dictionary, a bad Adler-32
  }
}

