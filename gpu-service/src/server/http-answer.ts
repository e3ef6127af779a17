/**
 * An answer as data (status, headers, body), made once and sent by either transport: Hono
 * (`toResponse`, app.request in tests, any fetch adapter) or the Node server's response itself
 * (`writeNodeAnswer`, node-listener.ts), byte for byte as @hono/node-server writes that Hono
 * response. Also the two things every answer is booked with: the error it carries (`errorAnswer`:
 * one ApiError body, unexpected errors logged and answered 500) and the request metrics.
 */
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { ApiError } from '../../../contract/errors.js';
import type { Logger } from '../core/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';

export interface HttpAnswer {
  status: number;
  /** Content-Type first, as Hono's c.json / c.body get them. */
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** JSON.stringify(value), as c.json sends it. */
export function jsonAnswer(status: number, value: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

/** The error handler's answer: an ApiError as it is, anything else logged and answered 500 internal. */
export function errorAnswer(error: unknown, path: string, deps: { logger: Logger; metrics: ServiceMetrics }): HttpAnswer {
  const apiError = error instanceof ApiError ? error : undefined;
  if (!apiError) {
    deps.logger.error('unhandled error', { path, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  const reply = apiError ?? new ApiError('internal', 'internal error');
  deps.metrics.errors.inc({ code: reply.code });
  return jsonAnswer(reply.status, reply.toBody(), reply.headers());
}

/** Books an answered request (every route: the Hono middleware and the Node segment path). */
export function recordRequest(metrics: ServiceMetrics, route: string, status: number, startedMs: number): void {
  metrics.requests.inc({ route, status: String(status) });
  metrics.requestSeconds.observe({ route }, (performance.now() - startedMs) / 1000);
}

export function toResponse(c: Context, answer: HttpAnswer): Response {
  return c.body(answer.body as string, answer.status as 200, answer.headers);
}

/**
 * Writes the answer as @hono/node-server writes the Response `toResponse` makes: a lone header
 * goes through as named (Hono passes one string header on as a plain object), several become
 * fetch Headers (names lower-cased, sorted); then Content-Length, the body in one end().
 */
export function writeNodeAnswer(outgoing: ServerResponse, answer: HttpAnswer): void {
  const names = Object.keys(answer.headers);
  const head: Record<string, string | number> = {};
  if (names.length === 1) head[names[0]] = answer.headers[names[0]];
  else {
    const lower = names.map((name) => [name.toLowerCase(), answer.headers[name]] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [name, value] of lower) head[name] = value;
  }
  head['Content-Length'] = typeof answer.body === 'string' ? Buffer.byteLength(answer.body) : answer.body.byteLength;
  outgoing.writeHead(answer.status, head);
  outgoing.end(answer.body);
}
