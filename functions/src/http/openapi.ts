/**
 * The OpenAPI document (`GET /openapi.json`). Paths are registered here from zod schemas (the
 * contract's result and error shapes); handlers parse their own input, because multipart with a
 * repeated `text` field and byte-limited bodies do not fit a generic validator.
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { ErrorBodySchema } from '../../../contract/errors.js';
import { LIMITS } from '../../../contract/limits.js';
import { ModelsListSchema, PendingResultSchema, UsageReportSchema } from '../../../contract/reports.js';
import { MaskFormatSchema, SegmentResultSchema } from '../../../contract/segment.js';
import type { AppEnv } from '../env.js';

const errorContent = { 'application/json': { schema: ErrorBodySchema } };
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [String(status), { description: `Error (${status})`, content: errorContent }]));

const PRESENCE_THRESHOLD =
  '0..1: a phrase is `found` when the presence probability is above it (the model default when absent; no effect for a model without a presence output, where `found` is `area > 0`).';

const Phrases = z.union([z.string(), z.array(z.string()).min(1).max(LIMITS.maxPhrases)]);

const ImageId = z.string().regex(/^[0-9a-f]{64}$/).openapi({ description: 'The `image_id` of an earlier answer of this key (kept 24 h), instead of `image`.' });
const OriginalSize = z.object({ width: z.number().int(), height: z.number().int() }).openapi({ description: 'Size of the photo the upload was shrunk from: masks, bbox and area at that size.' });
const Webhook = z.string().url().openapi({ description: 'With `Prefer: respond-async`: POST the result here, signed (Standard Webhooks).' });

const SegmentJsonBody = z.object({
  image: z.string().optional().openapi({ description: 'Image bytes, base64 (a data: URL is accepted).' }),
  image_id: ImageId.optional(),
  original_size: OriginalSize.optional(),
  webhook: Webhook.optional(),
  text: Phrases.openapi({ description: `1..${LIMITS.maxPhrases} phrases of at most ${LIMITS.maxPhraseChars} characters.` }),
  format: MaskFormatSchema.optional(),
  threshold: z.number().gt(0).lt(1).optional(),
  presence_threshold: z.number().min(0).max(1).optional().openapi({ description: PRESENCE_THRESHOLD }),
});

const SegmentMultipartBody = z.object({
  image: z.string().optional().openapi({ type: 'string', format: 'binary' }),
  image_id: ImageId.optional(),
  original_size: z.string().optional().openapi({ description: 'JSON `{"width","height"}` of the photo the upload was shrunk from.' }),
  webhook: Webhook.optional(),
  text: z.array(z.string()).openapi({ description: 'Repeat the field for several phrases.' }),
  format: MaskFormatSchema.optional(),
  threshold: z.number().optional(),
  presence_threshold: z.number().optional().openapi({ description: PRESENCE_THRESHOLD }),
});

const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  breaker: z.object({
    state: z.enum(['closed', 'open', 'half-open']),
    consecutive_failures: z.number().int(),
    failures_to_open: z.number().int(),
    open_until: z.string().nullable(),
  }),
  gpu: z.object({ last_status: z.union([z.number().int(), z.enum(['timeout', 'unreachable'])]).nullable(), last_at: z.string().nullable() }),
});

const ResultId = z.string().regex(/^[0-9a-f]{64}$/).openapi({ param: { name: 'id', in: 'path' } });

export function registerOpenApi(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  const secured = [{ apiKey: [] }];
  registry.registerPath({
    method: 'post',
    path: '/v1/segment',
    summary: 'Segment the objects the phrases refer to',
    security: secured,
    request: {
      headers: z.object({
        'idempotency-key': z.string().optional(),
        prefer: z.string().optional().openapi({ description: '`respond-async`: answer 202 and finish in the background.' }),
        accept: z.string().optional().openapi({ description: '`image/png` with one phrase: answer the mask PNG.' }),
      }),
      body: {
        required: true,
        content: {
          'multipart/form-data': { schema: SegmentMultipartBody },
          'application/json': { schema: SegmentJsonBody },
        },
      },
    },
    responses: {
      200: {
        description:
          'The masks. Header `X-Cache: HIT|MISS`. A phrase with `found: false` has an empty mask (no polygons, an all-zero RLE or PNG), `area` 0, `bbox` zeros and `score` 0; it is billed like any other.',
        content: { 'application/json': { schema: SegmentResultSchema }, 'image/png': { schema: z.string().openapi({ format: 'binary' }) } },
      },
      202: { description: 'Accepted (Prefer: respond-async); poll `result_url`.', content: { 'application/json': { schema: PendingResultSchema } } },
      ...errors(400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/results/{id}',
    summary: 'A stored result (ETag, Cache-Control); 404 until it exists',
    security: secured,
    request: { params: z.object({ id: ResultId }) },
    responses: {
      200: { description: 'The result', content: { 'application/json': { schema: SegmentResultSchema } } },
      304: { description: 'Not modified (If-None-Match)' },
      ...errors(401, 403, 404),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/usage',
    summary: "The caller's usage per day and this month's quota",
    security: secured,
    request: { query: z.object({ from: z.string().optional(), to: z.string().optional() }) },
    responses: { 200: { description: 'Usage', content: { 'application/json': { schema: UsageReportSchema } } }, ...errors(401, 403, 422) },
  });
  registry.registerPath({
    method: 'get',
    path: '/v1/models',
    summary: 'Models served',
    responses: { 200: { description: 'Models', content: { 'application/json': { schema: ModelsListSchema } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/healthz',
    summary: "Edge health: ok, or degraded while this isolate's circuit breaker to the GPU tier is not closed or the tier's last answer failed",
    responses: { 200: { description: 'ok or degraded (both 200: cached results are still served)', content: { 'application/json': { schema: Health } } } },
  });
}

export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: { title: 'CRIS referring-segmentation API', version: '1.0.0' },
} as const;
