/**
 * Image bytes -> packed RGB, as sharp gives it (png-decode.ts and jpeg-decode.ts decode the files
 * they cover without it): JPEG, PNG and WebP only (sniffed from the bytes), EXIF orientation
 * applied, grey and alpha images to 3-channel RGB (alpha dropped, as cv2 IMREAD_COLOR does), the
 * pixel limit checked from the header before anything is decoded. Embedded ICC
 * profiles are ignored, as cv2 ignores them: a Display-P3 phone photo gives the network the same
 * stored values the reference would see.
 */
import sharp from 'sharp';
import { ApiError } from '../../../contract/errors.js';
import { LIMITS } from '../../../contract/limits.js';
import { imageDimensions } from '../admission/image-dimensions.js';
import type { ArrayPool } from '../core/array-pool.js';
import type { DecodedImage } from '../core/types.js';
import { decodeJpegRgb } from './jpeg-decode.js';
import { decodePngRgb } from './png-decode.js';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface DecodedRgb extends DecodedImage {
  /** Size of the image after EXIF orientation, before any shrink. */
  originalWidth: number;
  originalHeight: number;
  format: ImageFormat;
}

export interface DecodeOptions {
  /** Decode at about this size instead of the full size (sharp shrink-on-load); exact when absent. */
  shrinkTo?: { width: number; height: number };
  maxPixels?: number;
  /** The header when the caller has already read it (readImageHeader with the same maxPixels): sharp then decodes. */
  header?: ImageHeader;
  /**
   * Where the JavaScript PNG and WebAssembly JPEG decoders take their pixels from: the caller
   * gives `rgb` back to it once done with them (ArrayPool.give ignores sharp's, not the pool's).
   */
  pool?: ArrayPool;
}

/** Image format from the magic bytes; null for anything else. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

export interface ImageHeader {
  format: ImageFormat;
  /** After EXIF orientation. */
  width: number;
  height: number;
}

/** Reads the header only: format, oriented size; refuses other formats and too many pixels. */
export async function readImageHeader(bytes: Uint8Array, maxPixels: number = LIMITS.maxImagePixels): Promise<ImageHeader> {
  const format = sniffFormat(bytes);
  if (!format) throw new ApiError('unsupported_media_type', 'image must be JPEG, PNG or WebP');
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new ApiError('invalid_image', `image header cannot be read: ${reason(error)}`);
  }
  if (meta.format !== format || !meta.width || !meta.height) {
    throw new ApiError('invalid_image', 'image header cannot be read');
  }
  if (meta.width * meta.height > maxPixels) {
    throw new ApiError('image_too_large', `image has ${meta.width}x${meta.height} pixels, the limit is ${maxPixels}`);
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return { format, width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height };
}

/**
 * Decodes to packed RGB (uint8), EXIF-rotated, optionally shrunk on load. A full-size decode
 * whose header the JavaScript parser reads within the pixel limit skips sharp's header call: a
 * PNG the JavaScript decoder covers, or a small JPEG the WebAssembly libjpeg-turbo covers
 * (jpeg-decode.ts), never reaches sharp, other images take the single sharp pipeline. Anything
 * refused on that way is decoded again the long way (sharp's header, then its pipeline), so
 * refusals keep the codes they always had.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedRgb> {
  const maxPixels = options.maxPixels ?? LIMITS.maxImagePixels;
  if (!options.shrinkTo && !options.header) {
    const fast = await decodeFullSize(bytes, maxPixels, options.pool);
    if (fast) return fast;
  }
  const header = options.header ?? (await readImageHeader(bytes, maxPixels));
  return decodeWithSharp(bytes, header.format, maxPixels, options.shrinkTo && { to: options.shrinkTo, from: header });
}

/** The full-size decode without sharp's header call; null where the long way must answer. pool: see DecodeOptions. */
export async function decodeFullSize(bytes: Uint8Array, maxPixels: number = LIMITS.maxImagePixels, pool?: ArrayPool): Promise<DecodedRgb | null> {
  const format = sniffFormat(bytes);
  const stored = format && imageDimensions(bytes);
  if (!format || !stored || stored.width * stored.height > maxPixels) return null; // before any inflate
  if (format === 'png') {
    // Every PNG the JavaScript decoder leaves goes the long way: sharp's header call is stricter
    // than its pipeline (a bad critical-chunk CRC), and that strictness is today's behaviour.
    const rgb = decodePngRgb(bytes, stored, pool);
    return rgb && { ...stored, rgb, originalWidth: stored.width, originalHeight: stored.height, format };
  }
  if (format === 'jpeg') {
    const oriented = await decodeJpegRgb(bytes, stored, pool); // small files only; null: sharp decodes
    if (oriented) return { ...oriented, originalWidth: oriented.width, originalHeight: oriented.height, format };
  }
  try {
    return await decodeWithSharp(bytes, format, maxPixels);
  } catch {
    return null;
  }
}

interface Shrink {
  to: { width: number; height: number };
  /** The original's size after EXIF orientation. */
  from: { width: number; height: number };
}

/** sharp's pipeline; the original size is the decoded one (after the EXIF rotation) unless shrunk. */
async function decodeWithSharp(bytes: Uint8Array, format: ImageFormat, maxPixels: number, shrink?: Shrink): Promise<DecodedRgb> {
  let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated', ignoreIcc: true })
    .rotate() // EXIF orientation
    .toColourspace('srgb')
    .removeAlpha();
  if (shrink) {
    pipeline = pipeline.resize(shrink.to.width, shrink.to.height, {
      fit: 'fill',
      kernel: 'linear',
      fastShrinkOnLoad: true,
    });
  }
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new ApiError('invalid_image', `image cannot be decoded: ${reason(error)}`);
  }
  const { data, info } = decoded;
  if (info.channels !== 3) throw new ApiError('invalid_image', `decoded image has ${info.channels} channels`);
  return {
    width: info.width,
    height: info.height,
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), // [height, width, 3]
    originalWidth: shrink ? shrink.from.width : info.width,
    originalHeight: shrink ? shrink.from.height : info.height,
    format,
  };
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
