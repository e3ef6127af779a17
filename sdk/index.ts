/** CRIS segmentation API client: fetch only, for browsers, React Native and Node. */
export { createClient, sniffImageType } from './client.js';
export type { ClientOptions, CrisClient, FileReference, ImageInput, SegmentParams } from './client.js';
export { CrisError, parseRetryAfter } from './errors.js';
export type { RetryOptions } from './retry.js';
export { base64ToBytes, bitmapIoU, bitmapToRgba, decodePngMask, decodeRle, isBoundary, maskToBitmap, rasterizePolygon, rleCounts } from './masks.js';
export type { Bitmap } from './masks.js';
export type { Mask, MaskFormat, ModelInfo, ModelsList, PendingResult, PhraseResult, SegmentResult, Size, UsageDay, UsageReport } from './wire.js';
