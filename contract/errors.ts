/**
 * The one error model shared by both tiers: a code, its HTTP status, and the JSON body
 * `{ "error": { "code", "message" } }` that every error response carries.
 */
import { z } from 'zod';

export const ERROR_STATUS = {
  bad_request: 400,
  missing_image: 400,
  unauthorized: 401,
  invalid_signature: 401,
  /** A signed request (its request id) the GPU service has already accepted. */
  replayed_request: 401,
  forbidden: 403,
  key_disabled: 403,
  not_found: 404,
  image_expired: 404,
  /** A known path called with a method it does not serve (the answer names them in `Allow`). */
  method_not_allowed: 405,
  idempotency_conflict: 409,
  payload_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  invalid_image: 422,
  invalid_text: 422,
  too_many_phrases: 422,
  invalid_options: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  overloaded: 429,
  internal: 500,
  upstream_error: 502,
  unavailable: 503,
  timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined
      ? {}
      : { 'retry-after': String(Math.max(1, Math.ceil(this.retryAfterSeconds))) };
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_STATUS, value);
}
