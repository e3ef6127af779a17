/**
 * Response headers and error responses of the OpenAPI document, as the routes send them: a
 * header is `required` where every answer of that status carries it (e.g. `Retry-After` on a
 * 429 of `POST /v1/segment`), optional where only some do (a stored failure replayed by
 * `GET /v1/results/{id}` carries none). The errors every operation shares (401, 403, 405, 500)
 * are named responses in `components.responses`.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../env.js';
import { codesOfStatus } from './openapi-schemas.js';

interface HeaderObject {
  description: string;
  required?: boolean;
  schema: { type: 'string' | 'integer'; minimum?: number; format?: string; pattern?: string; enum?: string[] };
  [extension: `x-${string}`]: unknown;
}

/** Every header a client reads (the CORS-exposed ones, app.ts EXPOSED_HEADERS, and Cache-Control). */
export const HEADERS = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 1 } },
  Location: { description: 'URL of the result (`GET /v1/results/{id}`).', schema: { type: 'string', format: 'uri' } },
  ETag: { description: 'Strong validator of the result (send it back as `If-None-Match`).', schema: { type: 'string' } },
  'Cache-Control': { description: 'Caching rules of this answer.', schema: { type: 'string' } },
  'X-Cache': { description: '`HIT`: answered from a stored result, no inference ran; `MISS`: computed for this request.', schema: { type: 'string', enum: ['HIT', 'MISS'] } },
  'X-Result-Id': { description: 'The result id (`GET /v1/results/{id}`).', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
  'Idempotent-Replayed': { description: 'Present (`true`) when this is the stored answer of an earlier request with the same `Idempotency-Key`.', schema: { type: 'string', enum: ['true'] } },
  'Preference-Applied': { description: 'The `Prefer` preference honoured (RFC 7240).', schema: { type: 'string', enum: ['respond-async'] } },
  'Server-Timing': { description: 'Where the time went (auth, meter, cache, gpu...), in milliseconds.', schema: { type: 'string' } },
  'WWW-Authenticate': { description: 'The Bearer challenge (RFC 6750): `Bearer realm="cris"`, with `error="invalid_token"` for an unknown key.', schema: { type: 'string' } },
  Allow: { description: 'The methods this path serves.', schema: { type: 'string' } },
} satisfies Record<string, HeaderObject>;
export type HeaderName = keyof typeof HEADERS;

/** Headers of a response: `always` carry `required: true`, `sometimes` do not. */
export function headers(always: HeaderName[], sometimes: HeaderName[] = []): Record<string, HeaderObject> {
  return Object.fromEntries([
    ...always.map((name) => [name, { ...HEADERS[name], required: true }]),
    ...sometimes.map((name) => [name, HEADERS[name]]),
  ]);
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };
const errorContent = { 'application/json': { schema: ERROR_REF } };

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'No valid API key',
  403: 'Key disabled',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Idempotency conflict',
  413: 'Too large',
  415: 'Unsupported media type',
  422: 'Invalid input',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'GPU tier failed',
  503: 'Unavailable',
  504: 'Timeout',
};

/** An error response of `status`; its description names the codes (from the contract's table) and `detail`. */
export function errorResponse(status: number, detail = '', responseHeaders: Record<string, HeaderObject> = {}) {
  const codes = codesOfStatus(status).map((code) => `\`${code}\``).join(', ');
  return { description: `${STATUS_TEXT[status]}: ${codes}.${detail ? ` ${detail}` : ''}`, headers: responseHeaders, content: errorContent };
}

/** The errors every operation may answer, by name (`components.responses`). */
const SHARED_ERRORS = {
  Unauthorized: [401, errorResponse(401, 'Missing, malformed or unknown API key.', headers(['WWW-Authenticate'], ['Server-Timing']))],
  Forbidden: [403, errorResponse(403, 'The key was revoked.', headers([], ['Server-Timing']))],
  MethodNotAllowed: [405, errorResponse(405, 'Any other method on this path answers 405; `Allow` names the ones it serves.', headers(['Allow'], ['Server-Timing']))],
  InternalError: [500, errorResponse(500, 'A fault of ours; the message has no details.', headers([], ['Server-Timing']))],
} as const;
export type SharedError = keyof typeof SHARED_ERRORS;

export function registerSharedResponses(app: OpenAPIHono<AppEnv>): void {
  for (const [name, [, response]] of Object.entries(SHARED_ERRORS)) app.openAPIRegistry.registerComponent('responses', name, response);
}

/** `{ 401: { $ref }, ... }` for the named shared errors. */
export function sharedErrors(...names: SharedError[]): Record<string, { $ref: string }> {
  return Object.fromEntries(names.map((name) => [String(SHARED_ERRORS[name][0]), { $ref: `#/components/responses/${name}` }]));
}
