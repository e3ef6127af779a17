/** The client-facing error for an image that could not be prepared (no sharp import: the main thread uses it too). */
import { ApiError } from '../../../contract/errors.js';

/**
 * Any failure of preparing an image as the client's error: an ApiError as it is, sharp's pixel
 * limit as image_too_large, anything else (sharp's own messages: "Input buffer contains
 * unsupported image format", "VipsJpeg: ...") as invalid_image, its detail not echoed.
 */
export function imageFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return new ApiError('image_too_large', 'the image has too many pixels');
  return new ApiError('invalid_image', 'the image could not be decoded');
}
