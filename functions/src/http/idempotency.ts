/**
 * `Idempotency-Key`: the first request with a key runs and its response is stored in the key's
 * Durable Object; the same key with the same request replays that response; the same key with a
 * different request is 409 `idempotency_conflict`. Failures worth retrying (429, 5xx) are not
 * stored, so a retry runs again. Records live 24 hours. An answer over MAX_REPLAY_BYTES (a PNG mask of
 * a large photo, say) is answered but not kept: a Durable Object's SQLite value holds at most 2 MB
 * and base64 adds a third, so its retry runs again (a result-cache hit) instead of failing the
 * answer already computed and billed; so does an answer whose storing fails.
 */
import { ApiError } from '../../../contract/errors.js';
import type { KeyMeter, StoredResponse } from '../meter/key-meter.js';
import { errorResponse } from './errors.js';
import { base64ToBytes, bytesToBase64 } from '../../../contract/base64.js';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const MAX_REPLAY_BYTES = 1_000_000;
const REPLAYED_HEADERS = ['content-type', 'x-cache', 'x-result-id', 'location', 'preference-applied', 'retry-after', 'etag'];

/** What a replay needs of an answer: its status, the headers clients read, its body (base64). */
function replayable(response: Response, body: Uint8Array): StoredResponse {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, body: bytesToBase64(body) };
}

function replay(stored: StoredResponse): Response {
  return new Response(base64ToBytes(stored.body), {
    status: stored.status,
    headers: { ...stored.headers, 'idempotent-replayed': 'true' },
  });
}

export async function withIdempotency(
  meter: DurableObjectStub<KeyMeter>,
  key: string,
  fingerprint: string,
  run: () => Promise<Response>,
): Promise<Response> {
  if (!KEY_PATTERN.test(key)) throw new ApiError('bad_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters.');
  const begun = await meter.idempotencyBegin(key, fingerprint);
  if (begun.state === 'conflict') {
    throw new ApiError('idempotency_conflict', 'This Idempotency-Key was already used with a different request.');
  }
  if (begun.state === 'in_flight') {
    throw new ApiError('idempotency_conflict', 'A request with this Idempotency-Key is still in progress.', 1);
  }
  if (begun.state === 'done') return replay(begun.response);
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    response = errorResponse(error);
  }
  if (response.status === 429 || response.status >= 500) {
    await meter.idempotencyRelease(key);
    return response;
  }
  const body = new Uint8Array(await response.arrayBuffer());
  const answer = new Response(body, { status: response.status, headers: response.headers });
  if (body.byteLength <= MAX_REPLAY_BYTES) {
    try {
      await meter.idempotencyComplete(key, replayable(response, body));
      return answer;
    } catch {
      // not kept: released below, like an answer too large to keep
    }
  }
  await meter.idempotencyRelease(key);
  return answer;
}
