/**
 * Reads a request body into memory, refusing (413) as soon as it passes the byte limit. With a
 * Content-Length the chunks land in one buffer of that size as they arrive (one copy); without
 * one they are collected and joined.
 */
import { ApiError } from '../../../contract/errors.js';

export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  const tooLarge = () => new ApiError('payload_too_large', `the request body exceeds ${maxBytes} bytes`);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  let body = new Uint8Array(Number.isInteger(declared) && declared > 0 ? declared : 0);
  let chunks: Uint8Array[] | undefined = body.length > 0 ? undefined : [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    if (chunks === undefined && total + value.byteLength > body.length) chunks = [body.subarray(0, total)]; // longer than declared
    if (chunks) chunks.push(value);
    else body.set(value, total);
    total += value.byteLength;
  }
  if (!chunks) return total === body.length ? body : body.subarray(0, total);
  body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
