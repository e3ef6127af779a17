/**
 * Shapes of a segmentation request's options and of its answer, shared by the edge, the GPU
 * service, the SDK and the playground. JSON field names are the public API's.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';

export const MaskFormatSchema = z.enum(['polygon', 'rle', 'png']);
export type MaskFormat = z.infer<typeof MaskFormatSchema>;

/** Options a client may set. */
export const SegmentOptionsSchema = z.object({
  format: MaskFormatSchema.default('polygon'),
  /** Probability threshold; the bundle's default when absent. */
  threshold: z.number().gt(0).lt(1).optional(),
  /**
   * Presence threshold: a phrase is found when the model's presence probability is above it
   * (0: whenever the mask is not empty; 1: never). The bundle's default when absent; no effect
   * with a bundle that has no presence output (there `found` is `area > 0`).
   */
  presence_threshold: z.number().min(0).max(1).optional(),
  /** Size of the photo the upload was shrunk from (EXIF orientation applied): masks, bbox and area come back at this size. */
  original_size: z
    .object({ width: z.number().int().positive(), height: z.number().int().positive() })
    .refine((size) => size.width * size.height <= LIMITS.maxImagePixels, `original_size has more than ${LIMITS.maxImagePixels} pixels`)
    .optional(),
});
export type SegmentOptions = z.infer<typeof SegmentOptionsSchema>;

/** Options the edge forwards to the GPU service (multipart field `options`, JSON). */
export const ForwardOptionsSchema = SegmentOptionsSchema.extend({
  /** Result key computed by the edge; the service stores the result under it. */
  resultKey: z.string().regex(/^[0-9a-f]{64}$/),
  /** Keep the uploaded image under this S3 key (contract/images.ts) until `expiresAt` (Unix s), for `image_id`. */
  storeImage: z.object({ key: z.string().regex(/^images\/[A-Za-z0-9_]+\/[0-9a-f]{64}$/), expiresAt: z.number().int().positive() }).optional(),
});
export type ForwardOptions = z.infer<typeof ForwardOptionsSchema>;

/**
 * GeoJSON MultiPolygon coordinates in pixels (x right, y down; pixel (x, y) covers [x, x+1] x
 * [y, y+1]): polygons -> rings -> [x, y]. Exactly the mask's pixel centres are inside (even-odd);
 * rings closed, exteriors counter-clockwise and holes clockwise in the y-up reading (RFC 7946).
 */
export const PolygonMaskSchema = z.object({
  format: z.literal('polygon'),
  coordinates: z.array(z.array(z.array(z.tuple([z.number(), z.number()])))),
});
/** COCO compressed RLE (column-major), as pycocotools' `encode` gives it. */
export const RleMaskSchema = z.object({
  format: z.literal('rle'),
  size: z.tuple([z.number().int(), z.number().int()]), // [height, width]
  counts: z.string(),
});
/** A single-channel PNG (255 inside, 0 outside), base64. */
export const PngMaskSchema = z.object({
  format: z.literal('png'),
  data: z.string(),
});
export const MaskSchema = z.discriminatedUnion('format', [
  PolygonMaskSchema,
  RleMaskSchema,
  PngMaskSchema,
]);
export type Mask = z.infer<typeof MaskSchema>;

export const PhraseResultSchema = z.object({
  text: z.string(),
  /**
   * Whether the phrase names something in the image. false: the mask is empty (polygon: no
   * coordinates; rle: all zeros; png: all zero), `area` 0, `bbox` zeros, `score` 0.
   */
  found: z.boolean(),
  /** The model's probability that the phrase names something here; null for a bundle without a presence output. */
  presence: z.number().min(0).max(1).nullable(),
  /** Mean probability inside the mask (0 when the mask is empty). */
  score: z.number(),
  /** [x, y, width, height] in pixels of the original image; zeros when empty. */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  /** Mask pixels. */
  area: z.number().int(),
  /** Connected parts of the mask (8-connectivity: pixels touching at a corner are one part); 0 when empty. */
  regions: z.number().int().nonnegative(),
  mask: MaskSchema,
});
export type PhraseResult = z.infer<typeof PhraseResultSchema>;

export const TimingSchema = z.object({
  total_ms: z.number(),
  queue_ms: z.number().optional(),
  preprocess_ms: z.number().optional(),
  image_encoder_ms: z.number().optional(),
  head_ms: z.number().optional(),
  postprocess_ms: z.number().optional(),
});

export const SegmentResultSchema = z.object({
  /** The result key: `GET /v1/results/{id}` serves it again. */
  id: z.string(),
  /** sha256 of the image bytes: send it as `image_id` to ask about the same image without uploading it. */
  image_id: z.string(),
  /** `<model id>@<version>`. */
  model: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  results: z.array(PhraseResultSchema),
  cached: z.boolean(),
  timing: TimingSchema,
});
export type SegmentResult = z.infer<typeof SegmentResultSchema>;

/** Where the GPU service stores a result, and the edge finds it. */
export function resultObjectKey(model: string, resultKey: string): string {
  return `results/${model}/${resultKey}.json`;
}
