/** CRIS segmentation API client: fetch only, for browsers, React Native and Node. */
export { createClient, DEFAULT_TIMEOUT_MS, isPending } from './client.js';
export type { ClientOptions, CrisClient, SegmentParams, SubmitParams } from './client.js';
export { CrisError, parseRetryAfter } from './errors.js';
export type { RetryOptions } from './retry.js';
export type { CallOptions } from './transport.js';
export { sniffImageType } from './upload.js';
export type { FileReference, ImageInput } from './upload.js';
export { DEFAULT_WAIT_MS } from './wait.js';
export type { WaitOptions } from './wait.js';
export { base64ToBytes, bitmapIoU, bitmapToRgba, decodePngMask, decodeRle, isBoundary, maskToBitmap, rasterizePolygon, rleCounts } from './masks.js';
export type { Bitmap } from './masks.js';
export type { Mask, MaskFormat, ModelInfo, ModelsList, PendingResult, PhraseResult, SegmentResult, Size, UsageDay, UsageReport } from './wire.js';
