/**
 * The one error the SDK throws: the API's `{ error: { code, message } }` plus the HTTP status, or
 * one of the SDK's own codes when no usable answer came back (status 0 for all but bad_response):
 *
 *   network_error   the request did not reach the API or its answer was cut off
 *   timeout         no answer within the call's `timeout` (retries and their waits included)
 *   aborted         the caller's AbortSignal fired (`cause` is its reason)
 *   bad_response    a 2xx answer that is not the JSON the API sends
 */
export class CrisError extends Error {
  constructor(
    /** The API's error code (`rate_limited`, `invalid_image`...), or one of the SDK's above. */
    readonly code: string,
    message: string,
    /** HTTP status; 0 when no response came back. */
    readonly status: number,
    /** Seconds from the Retry-After header, when the server sent one. */
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CrisError';
  }
}

/** Retry-After as seconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(trimmed)) return Number(trimmed);
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, (dateMs - nowMs) / 1000);
}

/** Builds a CrisError from a non-2xx response, reading the API's error body when there is one. */
export async function errorFromResponse(response: Response): Promise<CrisError> {
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body?.error?.code === 'string') code = body.error.code;
    if (typeof body?.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new CrisError(code, message, response.status, retryAfter);
}
