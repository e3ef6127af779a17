/**
 * One error shape everywhere: every failure, ours or the framework's, leaves as
 * `{ "error": { "code", "message" } }` with the contract's status (and Retry-After when known).
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, type ErrorCode } from '../../../contract/errors.js';

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'idempotency_conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_options',
  429: 'rate_limited',
  502: 'upstream_error',
  503: 'unavailable',
  504: 'timeout',
};

/** Any thrown value as an ApiError; unknown failures become 500 `internal` without details. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    const code = CODE_FOR_STATUS[error.status] ?? (error.status >= 500 ? 'internal' : 'bad_request');
    return new ApiError(code, error.message || `HTTP ${error.status}`);
  }
  console.error('unhandled error', error);
  return new ApiError('internal', 'Internal error.');
}

export function errorResponse(error: unknown, extraHeaders: Record<string, string> = {}): Response {
  const apiError = toApiError(error);
  return new Response(JSON.stringify(apiError.toBody()), {
    status: apiError.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...apiError.headers(), ...extraHeaders },
  });
}

/** For `app.onError`: keeps headers middleware already set (CORS, secure headers). */
export function onError(error: unknown, c: Context): Response {
  const apiError = toApiError(error);
  for (const [name, value] of Object.entries(apiError.headers())) c.header(name, value);
  return c.json(apiError.toBody(), apiError.status as 400);
}

export function onNotFound(c: Context): Response {
  return c.json(new ApiError('not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`).toBody(), 404);
}
