/**
 * The named schemas of the OpenAPI document (`components.schemas`). Answers reuse the contract's
 * zod schemas; their nested parts are re-assembled from named pieces here, so a generated client
 * gets `PhraseResult`, `Mask`... as types of their own instead of anonymous copies. Request
 * bodies state the bounds the handlers enforce (http/segment-request.ts, the contract's options
 * schema and LIMITS), for both media types alike.
 */
import { z } from '@hono/zod-openapi';
import { ERROR_STATUS } from '../../../contract/errors.js';
import { IMAGE_ID_PATTERN } from '../../../contract/images.js';
import { LIMITS } from '../../../contract/limits.js';
import { ModelInfoSchema, PendingResultSchema, UsageDaySchema, UsageReportSchema } from '../../../contract/reports.js';
import {
  MaskFormatSchema,
  PhraseResultSchema,
  PngMaskSchema,
  PolygonMaskSchema,
  RleMaskSchema,
  SegmentOptionsSchema,
  SegmentResultSchema,
  TimingSchema,
} from '../../../contract/segment.js';

/** Codes only the GPU service answers to the edge itself (the edge maps them to 502 `upstream_error`). */
const SERVICE_ONLY_CODES = new Set(['invalid_signature', 'replayed_request']);
export const EDGE_ERROR_CODES = Object.keys(ERROR_STATUS).filter((code) => !SERVICE_ONLY_CODES.has(code)) as [string, ...string[]];

/** The codes the edge answers with `status` (README's error table). */
export function codesOfStatus(status: number): string[] {
  return EDGE_ERROR_CODES.filter((code) => ERROR_STATUS[code as keyof typeof ERROR_STATUS] === status);
}

export const ErrorCode = z.enum(EDGE_ERROR_CODES).openapi('ErrorCode', { description: 'Machine-readable error code; each has one HTTP status.' });
export const ErrorBody = z
  .object({ error: z.object({ code: ErrorCode, message: z.string().openapi({ description: 'For people; may change.' }) }) })
  .openapi('Error', { description: 'The one error shape of every failure.' });

// --- answers -------------------------------------------------------------------------------

const pair = { minItems: 2, maxItems: 2 } as const;
export const PolygonMask = z.object({
  ...PolygonMaskSchema.shape,
  coordinates: z
    .array(z.array(z.array(z.tuple([z.number(), z.number()]).openapi(pair))))
    .openapi({ description: 'GeoJSON MultiPolygon coordinates in pixels (x right, y down; pixel (x, y) covers [x, x+1] x [y, y+1]): polygons -> rings (exterior first, then holes; closed; exteriors counter-clockwise, holes clockwise in the y-up reading, RFC 7946) -> [x, y]. Empty when not found.' }),
}).openapi('PolygonMask');
export const RleMask = z.object({
  ...RleMaskSchema.shape,
  size: z.tuple([z.number().int(), z.number().int()]).openapi({ ...pair, description: '[height, width]' }),
  counts: z.string().openapi({ description: 'COCO compressed RLE counts (column-major), as pycocotools `encode` gives them.' }),
}).openapi('RleMask');
export const PngMask = z.object({
  ...PngMaskSchema.shape,
  data: z.string().meta({ contentEncoding: 'base64', contentMediaType: 'image/png', description: 'Single-channel PNG, 255 inside, 0 outside.' }),
}).openapi('PngMask');
export const Mask = z.discriminatedUnion('format', [PolygonMask, RleMask, PngMask]).openapi('Mask');

export const PhraseResult = z.object({
  ...PhraseResultSchema.shape,
  found: z.boolean().openapi({ description: 'false: nothing matches; the mask is empty, `area` 0, `bbox` zeros, `score` 0.' }),
  presence: z.number().min(0).max(1).nullable().openapi({ description: "The model's probability that the phrase names something here; null without a presence output." }),
  score: z.number().min(0).max(1).openapi({ description: 'Mean probability inside the mask (0 when empty).' }),
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).openapi({ minItems: 4, maxItems: 4, description: '[x, y, width, height] in pixels of the original image; zeros when empty.' }),
  area: z.number().int().nonnegative().openapi({ description: 'Mask pixels.' }),
  regions: z.number().int().nonnegative().openapi({ description: 'Connected parts of the mask (8-connectivity); 0 when empty.' }),
  mask: Mask,
}).openapi('PhraseResult');

export const Timing = z.object(TimingSchema.shape).openapi('Timing', { description: 'Milliseconds; a cached answer has `total_ms` only.' });

export const SegmentResult = z.object({
  ...SegmentResultSchema.shape,
  id: z.string().regex(/^[0-9a-f]{64}$/).openapi({ description: 'The result key: `GET /v1/results/{id}` serves it again.' }),
  image_id: z.string().regex(IMAGE_ID_PATTERN).openapi({ description: 'sha256 of the image bytes: send it as `image_id` to ask about the same image again without uploading it (kept 24 h).' }),
  model: z.string().openapi({ description: '`<model id>@<version>`' }),
  results: z.array(PhraseResult).openapi({ description: 'One per phrase, in the order sent.' }),
  cached: z.boolean().openapi({ description: 'true: no inference ran for this answer.' }),
  timing: Timing,
}).openapi('SegmentResult');

export const PendingResult = z
  .object({ ...PendingResultSchema.shape, result_url: z.string().url() })
  .openapi('PendingResult', { description: 'Poll `result_url` (also in `Location`) until it answers 200.' });

const day = z.string().openapi({ format: 'date' });
export const UsageDay = z
  .object({ ...UsageDaySchema.shape, date: day })
  .openapi('UsageDay', { description: 'Phrases of one UTC day: asked (`requests`), computed and billed (`billable`), answered from cache (`cached`).' });
export const UsageReport = z
  .object({
    ...UsageReportSchema.shape,
    from: day,
    to: day,
    days: z.array(UsageDay),
    reads: UsageReportSchema.shape.reads.meta({ description: '`GET /v1/results/{id}` and `GET /v1/usage` calls in [from, to], this one included (rate-limited, no quota).' }),
  })
  .openapi('UsageReport', { description: "The calling key's per-day totals in [from, to] and this month's quota (`month`: YYYY-MM, UTC; `reserved`: phrases being computed now)." });

export const ModelInfo = z
  .object({
    ...ModelInfoSchema.shape,
    ref: ModelInfoSchema.shape.ref.meta({ description: '`<id>@<version>`, as results name their model.' }),
    input_size: ModelInfoSchema.shape.input_size.meta({ description: "The network's input side in pixels (clients shrink photos to a little above it)." }),
  })
  .openapi('ModelInfo');
export const ModelsList = z.object({ data: z.array(ModelInfo) }).openapi('ModelsList');

export const Health = z
  .object({
    status: z.enum(['ok', 'degraded']),
    breaker: z.object({
      state: z.enum(['closed', 'open', 'half-open']),
      consecutive_failures: z.number().int(),
      failures_to_open: z.number().int(),
      open_until: z.string().nullable(),
    }),
    gpu: z.object({ last_status: z.union([z.number().int(), z.enum(['timeout', 'unreachable'])]).nullable(), last_at: z.string().nullable() }),
  })
  .openapi('Health');

// --- requests ------------------------------------------------------------------------------

const options = SegmentOptionsSchema.shape;
const Phrase = z.string().openapi({ description: `At most ${LIMITS.maxPhraseChars} characters after trimming; not empty.` });
const PhraseList = z.array(Phrase).min(1).max(LIMITS.maxPhrases);
const ImageId = z.string().regex(IMAGE_ID_PATTERN).openapi({ description: 'The `image_id` of an earlier answer of this key (kept 24 h), instead of `image`.' });
export const OriginalSize = z
  .object({ width: z.number().int().positive(), height: z.number().int().positive() })
  .openapi('OriginalSize', { description: `Size of the photo the upload was shrunk from (EXIF orientation applied; at most ${LIMITS.maxImagePixels} pixels, the upload's aspect ratio): masks, bbox and area come back at this size.` });
const Webhook = z.string().url().openapi({ description: 'With `Prefer: respond-async`: POST the result here, signed (Standard Webhooks; see `webhooks`). https only (http to loopback in development).' });
const Format = MaskFormatSchema.meta({ description: 'Mask encoding; `polygon` when absent.' });
const Threshold = options.threshold.unwrap().meta({ description: "Mask probability threshold (exclusive 0..1); the model's default when absent." });
const PresenceThreshold = options.presence_threshold.unwrap().meta({
  description: "A phrase is `found` when the presence probability is above it (0: whenever the mask is not empty; 1: never); the model's default when absent; no effect for a model without a presence output (there `found` is `area > 0`).",
});
const IMAGE_OR_ID = 'Send `image` or `image_id`, not both (400 `missing_image` when neither).';
const NO_OPTIONS = 'Each option is a field of its own; an `options` member is refused (422 `invalid_options`).';

export const SegmentJsonRequest = z
  .object({
    image: z.string().optional().meta({ contentEncoding: 'base64', description: 'Image bytes (JPEG, PNG or WebP), base64; a `data:` URL is accepted.' }),
    image_id: ImageId.optional(),
    text: z.union([Phrase, PhraseList]).openapi({ description: `One phrase, or 1..${LIMITS.maxPhrases} of them.` }),
    format: Format.optional(),
    threshold: Threshold.optional(),
    presence_threshold: PresenceThreshold.optional(),
    original_size: OriginalSize.optional(),
    webhook: Webhook.optional(),
  })
  .openapi('SegmentJsonRequest', { description: `${IMAGE_OR_ID} ${NO_OPTIONS}` });

export const SegmentMultipartRequest = z
  .object({
    image: z.string().optional().meta({ format: 'binary', contentMediaType: 'application/octet-stream', description: 'The image file (JPEG, PNG or WebP).' }),
    image_id: ImageId.optional(),
    text: PhraseList.openapi({ description: `Repeat the field for several phrases (1..${LIMITS.maxPhrases}).` }),
    format: Format.optional(),
    threshold: Threshold.optional(),
    presence_threshold: PresenceThreshold.optional(),
    original_size: OriginalSize.optional(),
    webhook: Webhook.optional(),
  })
  .openapi('SegmentMultipartRequest', { description: `${IMAGE_OR_ID} ${NO_OPTIONS} \`original_size\` is a JSON part.` });

/** How each multipart field is sent (OpenAPI encoding object). */
export const MULTIPART_ENCODING = {
  image: { contentType: 'image/jpeg, image/png, image/webp, application/octet-stream' },
  original_size: { contentType: 'application/json' },
};

// --- webhooks ------------------------------------------------------------------------------

export const WebhookEvent = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('segment.completed'), timestamp: z.string().openapi({ format: 'date-time' }), data: SegmentResult }).openapi('SegmentCompletedEvent'),
    z
      .object({ type: z.literal('segment.failed'), timestamp: z.string().openapi({ format: 'date-time' }), data: z.object({ id: z.string(), error: ErrorBody.shape.error }) })
      .openapi('SegmentFailedEvent'),
  ])
  .openapi('WebhookEvent');
