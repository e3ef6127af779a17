/**
 * Reads a request body into memory, refusing (413) as soon as it passes the byte limit. With a
 * Content-Length the chunks land in one buffer of that size as they arrive (one copy); without
 * one they are collected and joined. Two sources, one set of rules (BodyCollector): the Node
 * request itself (the service's server: its 'data' events, no Web stream or Request built) or a
 * fetch Request (app.request in tests, any other adapter).
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../../../contract/errors.js';

/** The declared Content-Length as sent (a header value), or null. */
type DeclaredLength = string | null | undefined;

export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const collector = new BodyCollector(request.headers.get('content-length'), maxBytes);
  if (!request.body) return collector.finish();
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return collector.finish();
    if (!collector.push(value)) {
      await reader.cancel().catch(() => {});
      throw collector.tooLarge();
    }
  }
}

/**
 * The same from a Node request. Past the limit it stops reading (the request is paused, not
 * destroyed: the server drains the rest after answering 413); a request that fails or closes
 * before its end rejects with that failure.
 */
export function readNodeBodyLimited(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const collector = new BodyCollector(incoming.headers['content-length'], maxBytes);
  if (incoming.readableEnded) return Promise.resolve(collector.finish());
  return new Promise((resolve, reject) => {
    const settle = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      if (collector.push(chunk)) return;
      settle();
      incoming.pause();
      reject(collector.tooLarge());
    };
    const onEnd = () => {
      settle();
      resolve(collector.finish());
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onClose = () => {
      settle();
      reject(new Error('the request closed before its body ended'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/** The limit and the buffering of one body, whatever delivers its chunks. */
class BodyCollector {
  private body: Uint8Array;
  private chunks: Uint8Array[] | undefined;
  private total = 0;

  constructor(
    declaredLength: DeclaredLength,
    private readonly maxBytes: number,
  ) {
    const declared = Number(declaredLength ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) throw this.tooLarge();
    this.body = new Uint8Array(Number.isInteger(declared) && declared > 0 ? declared : 0);
    this.chunks = this.body.length > 0 ? undefined : [];
  }

  tooLarge(): ApiError {
    return new ApiError('payload_too_large', `the request body exceeds ${this.maxBytes} bytes`);
  }

  /** Takes a chunk; false (nothing kept) when it would pass the limit. */
  push(value: Uint8Array): boolean {
    if (this.total + value.byteLength > this.maxBytes) return false;
    if (this.chunks === undefined && this.total + value.byteLength > this.body.length) this.chunks = [this.body.subarray(0, this.total)]; // longer than declared
    if (this.chunks) this.chunks.push(value);
    else this.body.set(value, this.total);
    this.total += value.byteLength;
    return true;
  }

  finish(): Uint8Array {
    const { chunks, total } = this;
    if (!chunks) return total === this.body.length ? this.body : this.body.subarray(0, total);
    const body = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return body;
  }
}
