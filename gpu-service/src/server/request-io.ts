/**
 * What the segment route reads of its request (its body under the byte limit, its headers) and
 * the request's own AbortController, aborted when the client goes away (the deadline aborts the
 * same one: pipeline/deadline.ts). On the Node server all of it comes from the Node request and
 * response themselves, as @hono/node-server would give it through a fetch Request, without
 * building that Request, its Headers and its Web body stream; elsewhere (app.request in tests)
 * from the fetch Request.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { readBodyLimited, readNodeBodyLimited } from './body.js';

export interface RequestIo {
  /** Aborted (reason: a string) when the client goes away before its answer was sent. */
  client: AbortController;
  body(maxBytes: number): Promise<Uint8Array>;
  /** A header's value, repeated ones joined by ", " (as fetch Headers joins them). */
  header(name: string): string | undefined;
  /** The URL's path (what the signature covers). */
  path(): string;
}

export function requestIo(c: Context): RequestIo {
  const env = c.env as Partial<HttpBindings> | undefined;
  const path = () => new URL(c.req.url).pathname;
  if (env?.incoming && env.outgoing) return nodeRequestIo(env as HttpBindings, path);
  const request = c.req.raw;
  return {
    client: followSignal(request.signal),
    body: (maxBytes) => readBodyLimited(request, maxBytes),
    header: (name) => request.headers.get(name) ?? undefined,
    path,
  };
}

/** `path`: the request's URL path (node-listener.ts takes only `/v1/segment` itself: incoming.url is that path). */
export function nodeRequestIo({ incoming, outgoing }: HttpBindings, path: () => string): RequestIo {
  const client = new AbortController();
  // @hono/node-server's rule for its Request's signal: the response closed before it finished.
  outgoing.once('close', () => {
    if (outgoing.writableFinished) return;
    client.abort(incoming.errored ? incoming.errored.toString() : 'Client connection prematurely closed.');
  });
  return {
    client,
    body: (maxBytes) => readNodeBodyLimited(incoming, maxBytes),
    header: (name) => rawHeader(incoming.rawHeaders, name.toLowerCase()),
    path,
  };
}

/** `rawHeaders`: name, value, name, value... as received. */
function rawHeader(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i];
    if (key.length === name.length && key.toLowerCase() === name) value = value === undefined ? rawHeaders[i + 1] : `${value}, ${rawHeaders[i + 1]}`;
  }
  return value;
}

function followSignal(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  return controller;
}
