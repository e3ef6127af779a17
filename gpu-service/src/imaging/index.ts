/**
 * Image bytes -> network input. Exact reference pre-processing (decode at full size, OpenCV-style
 * bicubic letterbox warp, CLIP normalisation), except for images much larger than the network
 * input: those are shrunk on load by sharp to about twice the letterboxed size first (see
 * SHRINK_ABOVE), trading bit-parity with the reference for decode speed on phone photos.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../../../contract/errors.js';
import { sameAspectWithinRounding, type Size } from '../../../contract/images.js';
import { imageDimensions } from '../admission/image-dimensions.js';
import type { ArrayPool } from '../core/array-pool.js';
import type { PreparedImage } from '../core/types.js';
import { letterboxTransform } from './affine.js';
import { decodeImage, readImageHeader, type DecodedRgb } from './decode.js';
import { letterboxToNetworkInput, type NormaliseParams } from './letterbox.js';

export * from './affine.js';
export * from './decode.js';
export * from './letterbox.js';
export * from './letterbox-fused.js';
export * from './warp.js';

/**
 * Shrink on load when the original is more than this many times larger (per side) than its
 * letterboxed size. Below it the decode is exact and the warp samples the full image, as the
 * reference does (the reference's 4x4 bicubic taps then alias; the shrunk path is smoother).
 */
export const SHRINK_ABOVE = 4;
/** The shrunk image's side relative to its letterboxed side. */
export const SHRINK_TO = 2;

export interface PrepareOptions {
  /** Force the exact full-size decode even for very large images. */
  exact?: boolean;
  /**
   * The photo these bytes were shrunk from (a client's small upload): the letterbox transform is
   * the photo's, so masks come back at its size. Refused (422) unless it has the upload's aspect
   * ratio within rounding.
   */
  originalSize?: Size;
  /** The bytes' hex sha256 when the caller has it already (else it is computed here). */
  sha256?: string;
  /** Scratch for the decoded pixels (taken and given back within the call). */
  scratch?: ArrayPool;
  /**
   * Where the tensor is taken from: the caller gives it back once the encoder has read it
   * (never for a tensor sent to another thread). A fresh array when absent.
   */
  tensorPool?: ArrayPool;
}

/** The decoded upload, standing for the photo it was shrunk from (decodedToNetworkMatrix composes the scale). */
export function asShrunkFrom(decoded: DecodedRgb, originalSize: Size): DecodedRgb {
  const upload = { width: decoded.originalWidth, height: decoded.originalHeight };
  if (!sameAspectWithinRounding(upload, originalSize)) {
    throw new ApiError(
      'invalid_options',
      `original_size ${originalSize.width}x${originalSize.height} does not have the aspect ratio of the ${upload.width}x${upload.height} upload`,
    );
  }
  return { ...decoded, originalWidth: originalSize.width, originalHeight: originalSize.height };
}

/** Whether an image of this size is shrunk on load for a network input of `size` (see SHRINK_ABOVE). */
export function shrinksOnLoad(image: Size, size: number): boolean {
  return Math.min(size / image.height, size / image.width) * SHRINK_ABOVE < 1;
}

/** Decodes for the network: full size, or shrunk on load when much larger than `size`. */
export async function decodeForNetwork(bytes: Uint8Array, size: number, options: PrepareOptions = {}): Promise<DecodedRgb> {
  // The stored size decides as well as the oriented one (the rule is symmetric in width and height).
  const stored = imageDimensions(bytes);
  if (stored && (options.exact || !shrinksOnLoad(stored, size))) return decodeImage(bytes, { pool: options.scratch });
  const header = await readImageHeader(bytes);
  if (options.exact || !shrinksOnLoad(header, size)) return decodeImage(bytes, { header });
  const scale = Math.min(size / header.height, size / header.width);
  const k = SHRINK_TO * scale;
  return decodeImage(bytes, {
    header,
    shrinkTo: {
      width: Math.max(1, Math.round(header.width * k)),
      height: Math.max(1, Math.round(header.height * k)),
    },
  });
}

/** Network input from an already decoded image (see decodeForNetwork); tensorPool: see PrepareOptions. */
export function prepareDecoded(decoded: DecodedRgb, input: NormaliseParams, sha256: string, tensorPool?: ArrayPool): PreparedImage {
  const transform = letterboxTransform(decoded.originalWidth, decoded.originalHeight, input.size);
  return { tensor: letterboxToNetworkInput(decoded, transform, input, tensorPool), transform, sha256 }; // [3, S, S]
}

/** Network input for one image: [3, S, S] float32, its letterbox transform and the bytes' sha256. */
export async function prepareImage(bytes: Uint8Array, input: NormaliseParams, options: PrepareOptions = {}): Promise<PreparedImage> {
  const upload = await decodeForNetwork(bytes, input.size, options);
  try {
    const decoded = options.originalSize ? asShrunkFrom(upload, options.originalSize) : upload;
    return prepareDecoded(decoded, input, options.sha256 ?? createHash('sha256').update(bytes).digest('hex'), options.tensorPool);
  } finally {
    options.scratch?.give(upload.rgb); // the letterbox has read the pixels (the tensor holds none of them)
  }
}
