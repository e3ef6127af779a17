/**
 * The Node server's request listener. POST /v1/segment (the hot route, one per inference) is
 * answered on the Node request and response themselves: no fetch Request, Headers, URL, Hono
 * context, middleware chain or web Response per request; the same segment route (one replay
 * guard, budget and coalescer with the app), the same error answers and request metrics, the
 * answer written as @hono/node-server writes Hono's (http-answer.ts). Everything else, and any
 * segment request whose Host the adapter would refuse, goes to the Hono app through
 * @hono/node-server's listener, which answers it exactly as before.
 */
import { getRequestListener } from '@hono/node-server';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import type { Logger } from '../core/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import { errorAnswer, recordRequest, writeNodeAnswer, type HttpAnswer } from './http-answer.js';
import { nodeRequestIo } from './request-io.js';
import { SEGMENT_PATH, type SegmentRoute } from './segment-route.js';

/** What an unread request body may still send after its answer before the connection is closed (the adapter's limits). */
const DRAIN_TIMEOUT_MS = 500;
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

const segmentPath = () => SEGMENT_PATH;

interface ListenerDeps {
  logger: Logger;
  metrics: ServiceMetrics;
  /** The host of a request without a Host header (@hono/node-server's `hostname`). */
  hostname?: string;
}

export function createNodeListener(app: Hono, segment: SegmentRoute, deps: ListenerDeps): RequestListener {
  const viaHono = getRequestListener(app.fetch, { hostname: deps.hostname });
  const hosts = new HostCheck();
  return (incoming, outgoing) => {
    if (incoming.method !== 'POST' || incoming.url !== SEGMENT_PATH || !hosts.accepts(incoming.headers.host || deps.hostname)) return viaHono(incoming, outgoing);
    serveSegment(incoming, outgoing, segment, deps).catch((error: unknown) => {
      deps.logger.error('answer not written', { path: SEGMENT_PATH, error: error instanceof Error ? error.message : String(error) });
      outgoing.destroy();
    });
  };
}

async function serveSegment(incoming: IncomingMessage, outgoing: ServerResponse, segment: SegmentRoute, deps: ListenerDeps): Promise<void> {
  const started = performance.now();
  let answer: HttpAnswer;
  try {
    answer = await segment(nodeRequestIo({ incoming, outgoing }, segmentPath));
  } catch (error) {
    answer = errorAnswer(error, SEGMENT_PATH, deps);
  }
  writeNodeAnswer(outgoing, answer);
  // Answered before its body was read (413, 503): read the rest away so the connection can carry the next request.
  if (!incoming.readableEnded) drain(incoming);
  recordRequest(deps.metrics, SEGMENT_PATH, answer.status, started); // after the answer left: off its critical path
}

/**
 * The Host rule of @hono/node-server's request (a Host that makes a valid URL whose host name
 * it is); the last accepted value is remembered (the edge sends the same one every time).
 */
class HostCheck {
  private accepted: string | undefined;

  accepts(host: string | undefined): boolean {
    if (!host) return false;
    if (host === this.accepted) return true;
    try {
      const url = new URL(`http://${host}${SEGMENT_PATH}`);
      if (url.hostname.length !== host.length && url.hostname !== host.replace(/:\d+$/, '')) return false;
    } catch {
      return false;
    }
    this.accepted = host;
    return true;
  }
}

/** Reads and discards what is left of a body; past the byte or time limit, closes the connection. */
function drain(incoming: IncomingMessage): void {
  if (incoming.destroyed) return;
  let bytesRead = 0;
  const cleanup = () => {
    clearTimeout(timer);
    incoming.off('data', onData);
    incoming.off('end', cleanup);
    incoming.off('error', cleanup);
  };
  const forceClose = () => {
    cleanup();
    if (incoming.socket && !incoming.socket.destroyed) incoming.socket.destroySoon();
  };
  const timer = setTimeout(forceClose, DRAIN_TIMEOUT_MS);
  timer.unref();
  const onData = (chunk: Buffer) => {
    bytesRead += chunk.length;
    if (bytesRead > MAX_DRAIN_BYTES) forceClose();
  };
  incoming.on('data', onData);
  incoming.on('end', cleanup);
  incoming.on('error', cleanup);
  incoming.resume();
}
