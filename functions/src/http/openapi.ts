/**
 * The OpenAPI document (`GET /openapi.json`, OpenAPI 3.1). Paths are registered here from zod
 * schemas (the contract's result and error shapes, named in openapi-schemas.ts); handlers parse
 * their own input, because multipart with a repeated `text` field and byte-limited bodies do not
 * fit a generic validator. Every status and header listed is one the route really sends
 * (test/integration/openapi.test.ts calls each with a client generated from this document).
 */
import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { LIMITS } from '../../../contract/limits.js';
import type { AppEnv } from '../env.js';
import { errorResponse, headers, registerSharedResponses, sharedErrors } from './openapi-responses.js';
import {
  ErrorBody,
  Health,
  ModelsList,
  MULTIPART_ENCODING,
  PendingResult,
  SegmentJsonRequest,
  SegmentMultipartRequest,
  SegmentResult,
  UsageReport,
  WebhookEvent,
} from './openapi-schemas.js';

const SECURED = [{ apiKey: [] }];
const PUBLIC: never[] = [];
const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const day = (description: string) => z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional().openapi({ format: 'date', description });

function registerSegment(app: OpenAPIHono<AppEnv>): void {
  const retryAfter = headers(['Retry-After'], ['Server-Timing']);
  const replayable = headers([], ['Idempotent-Replayed', 'Server-Timing']);
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/segment',
    operationId: 'segment',
    summary: 'Segment the objects the phrases refer to',
    description:
      '`Accept: image/png` with one phrase answers the mask PNG (q-values count: PNG only when preferred over JSON). ' +
      '`Prefer: respond-async` answers 202 at once and finishes in the background. ' +
      `At most ${LIMITS.maxBodyBytes} bytes of body, ${LIMITS.maxPhrases} phrases, ${LIMITS.maxImagePixels} decoded pixels.`,
    security: SECURED,
    request: {
      headers: z.object({
        'Idempotency-Key': z.string().regex(/^[\x21-\x7e]{1,255}$/).optional().openapi({ description: 'Replays the first answer to a repeat of the same request (24 h); another request with it is 409.' }),
        Prefer: z.string().optional().openapi({ description: '`respond-async`: answer 202 and finish in the background.' }),
      }),
      body: {
        required: true,
        content: {
          'multipart/form-data': { schema: SegmentMultipartRequest, encoding: MULTIPART_ENCODING },
          'application/json': { schema: SegmentJsonRequest },
        },
      },
    },
    responses: {
      200: {
        description: 'The masks (JSON), or with `Accept: image/png` the one mask as a PNG. A phrase with `found: false` has an empty mask, `area` 0, `bbox` zeros and `score` 0; it is billed like any other.',
        headers: headers(['X-Cache', 'X-Result-Id'], ['Idempotent-Replayed', 'Server-Timing']),
        content: { ...json(SegmentResult), 'image/png': { schema: z.string().meta({ format: 'binary', contentMediaType: 'image/png' }) } },
      },
      202: {
        description: 'Accepted (`Prefer: respond-async`): poll `result_url` (= `Location`) until it answers 200, or get the result at `webhook`.',
        headers: headers(['Location', 'Preference-Applied', 'Retry-After', 'X-Result-Id'], ['Idempotent-Replayed', 'Server-Timing']),
        content: json(PendingResult),
      },
      400: errorResponse(400, 'Malformed body, no image, or a bad `Idempotency-Key`.', replayable),
      ...sharedErrors('Unauthorized', 'Forbidden'),
      404: errorResponse(404, '`image_expired`: the `image_id` is unknown, expired or another key\'s; send the image again.', replayable),
      ...sharedErrors('MethodNotAllowed'),
      409: errorResponse(409, 'The `Idempotency-Key` was used with another request, or its first request is still running (then with `Retry-After`).', headers([], ['Retry-After', 'Server-Timing'])),
      413: errorResponse(413, `The body is over ${LIMITS.maxBodyBytes} bytes, or the image over ${LIMITS.maxImagePixels} pixels.`, replayable),
      415: errorResponse(415, 'Send multipart/form-data or application/json; images JPEG, PNG or WebP.', replayable),
      422: errorResponse(422, 'A bad image, phrase or option.', replayable),
      429: errorResponse(429, 'Rate limit, monthly quota, or the GPU tier is full.', retryAfter),
      ...sharedErrors('InternalError'),
      502: errorResponse(502, 'The GPU tier answered with a fault.', headers([], ['Server-Timing'])),
      503: errorResponse(503, 'The GPU tier or the image store is unavailable.', retryAfter),
      504: errorResponse(504, 'The GPU tier, the key store or the meter did not answer in time.', retryAfter),
    },
  });
  app.openAPIRegistry.registerWebhook({
    method: 'post',
    path: 'segment',
    operationId: 'segmentWebhook',
    summary: 'The result of a `Prefer: respond-async` request with `webhook`, POSTed there',
    description: 'Signed as Standard Webhooks do (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 with the key\'s webhook secret). Retried after 1, 4 and 16 s until answered 2xx.',
    security: PUBLIC,
    request: {
      headers: z.object({ 'webhook-id': z.string(), 'webhook-timestamp': z.string(), 'webhook-signature': z.string() }),
      body: { required: true, content: json(WebhookEvent) },
    },
    responses: { 200: { description: 'Any 2xx acknowledges the delivery.' }, default: { description: 'Any other answer, or none within 5 s, makes the edge retry.' } },
  });
}

function registerReads(app: OpenAPIHono<AppEnv>): void {
  const sometimesRetry = headers([], ['Retry-After', 'Server-Timing']);
  const storedFailure = 'A background computation of this id that failed answers its error (this status, no `Retry-After`) for 5 minutes.';
  const result = headers(['ETag', 'Cache-Control', 'X-Cache'], ['Server-Timing']);
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/results/{id}',
    operationId: 'getResult',
    summary: 'A stored result of the calling key',
    description: `404 until it exists and for another key's id. ${storedFailure} A read: takes a token of the key's read bucket, no quota.`,
    security: SECURED,
    request: {
      params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'The `id` of an answer (64 hex characters; anything else is 404).' }) }),
      headers: z.object({ 'If-None-Match': z.string().optional().openapi({ description: 'An `ETag` of this result: 304 when it matches.' }) }),
    },
    responses: {
      200: { description: 'The result (`cached: true`).', headers: result, content: json(SegmentResult) },
      304: { description: 'Not modified (`If-None-Match` matched).', headers: result },
      400: errorResponse(400, storedFailure, sometimesRetry),
      ...sharedErrors('Unauthorized', 'Forbidden'),
      404: errorResponse(404, 'No such result of this key (yet).', sometimesRetry),
      ...sharedErrors('MethodNotAllowed'),
      413: errorResponse(413, storedFailure, sometimesRetry),
      415: errorResponse(415, storedFailure, sometimesRetry),
      422: errorResponse(422, storedFailure, sometimesRetry),
      429: errorResponse(429, `The key's read rate limit (with \`Retry-After\`), or ${storedFailure}`, sometimesRetry),
      ...sharedErrors('InternalError'),
      502: errorResponse(502, storedFailure, sometimesRetry),
      503: errorResponse(503, `The result store is not answering (with \`Retry-After\`), or ${storedFailure}`, sometimesRetry),
      504: errorResponse(504, `The result store, key store or meter did not answer in time (with \`Retry-After\`), or ${storedFailure}`, sometimesRetry),
    },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/usage',
    operationId: 'getUsage',
    summary: "The caller's usage per day and this month's quota",
    description: "A read: takes a token of the key's read bucket and is counted in `reads`, no quota.",
    security: SECURED,
    request: { query: z.object({ from: day('First day (UTC); default the first of this month.'), to: day('Last day (UTC), not before `from`; default today.') }) },
    responses: {
      200: { description: 'Usage', headers: headers([], ['Server-Timing']), content: json(UsageReport) },
      ...sharedErrors('Unauthorized', 'Forbidden', 'MethodNotAllowed'),
      422: errorResponse(422, '`from` or `to` is not a calendar date `YYYY-MM-DD`, or `from` is after `to`.', headers([], ['Server-Timing'])),
      429: errorResponse(429, "The key's read rate limit.", headers(['Retry-After'], ['Server-Timing'])),
      ...sharedErrors('InternalError'),
      504: errorResponse(504, 'The key store or the meter did not answer in time.', headers(['Retry-After'], ['Server-Timing'])),
    },
  });
}

function registerPublic(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    summary: 'Models served',
    security: PUBLIC,
    responses: { 200: { description: 'Models', headers: headers([], ['Server-Timing']), content: json(ModelsList) }, ...sharedErrors('MethodNotAllowed', 'InternalError') },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'Edge health',
    description: "`ok`, or `degraded` while this isolate's circuit breaker to the GPU tier is not closed or the tier's last answer failed; 200 both ways (cached results are still served).",
    security: PUBLIC,
    responses: { 200: { description: 'ok or degraded', headers: headers(['Cache-Control']), content: json(Health) }, ...sharedErrors('MethodNotAllowed', 'InternalError') },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    security: PUBLIC,
    responses: {
      200: { description: 'The OpenAPI 3.1 document of this deployment (its `servers` name the origin asked).', content: json(z.object({ openapi: z.string() }).passthrough()) },
      ...sharedErrors('MethodNotAllowed', 'InternalError'),
    },
  });
}

export function registerOpenApi(app: OpenAPIHono<AppEnv>): void {
  const registry = app.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`cris_live_...` or `cris_test_...`) as `Authorization: Bearer <key>`.',
  });
  registry.register('Error', ErrorBody);
  registerSharedResponses(app);
  registerSegment(app);
  registerReads(app);
  registerPublic(app);
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'CRIS referring-segmentation API',
      version: '1.0.0',
      description: 'Masks of the objects a phrase refers to in a photo. Every error is `{ "error": { "code", "message" } }` (schema `Error`).',
    },
    servers: [{ url: new URL(c.req.url).origin, description: 'This deployment' }],
  }));
}
