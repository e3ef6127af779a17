/**
 * One API call as the SDK makes it: the key, a deadline for the whole call (`timeout`, retries and
 * their waits included) and the caller's AbortSignal, retries only where they are safe (a GET
 * always; a POST only when it carries an Idempotency-Key, so the server answers a repeat with the
 * first answer), and every failure as a CrisError. fetch only (browsers, React Native, Node 18+).
 */
import { CrisError, errorFromResponse } from './errors.js';
import { retryDelayMs, type RetryPolicy } from './retry.js';

/** Per-call options of every client method. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds for the whole call, retries included (the client's `timeout` when absent; 0: none). */
  timeout?: number;
}

export interface RequestSpec {
  method: 'GET' | 'POST';
  /** Path and query, e.g. `/v1/usage?from=2026-01-01`. */
  path: string;
  headers?: Record<string, string>;
  /** A fresh body per attempt (a FormData is single-use in some runtimes). */
  body?: () => { body: BodyInit; headers?: Record<string, string> };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface TransportOptions {
  endpoint: string;
  apiKey: string;
  fetch: typeof fetch;
  retry: RetryPolicy;
  /** Default deadline of a call in ms (0: none). */
  timeout: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export type Send = (spec: RequestSpec, options?: CallOptions) => Promise<Answer>;

/** The caller's signal and the deadline as one signal, and the CrisError that says which fired. */
function callSignal(signal: AbortSignal | undefined, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const forward = () => controller.abort(signal?.reason);
  if (signal?.aborted) forward();
  else signal?.addEventListener('abort', forward, { once: true });
  const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs) : undefined;
  return {
    signal: controller.signal,
    /** The error for a call cut short, or undefined while it runs. */
    stopped(path: string): CrisError | undefined {
      if (!controller.signal.aborted) return undefined;
      if (timedOut) return new CrisError('timeout', `${path}: no answer within ${timeoutMs} ms`, 0);
      return new CrisError('aborted', `${path}: aborted by the caller`, 0, undefined, { cause: signal?.reason });
    },
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    },
  };
}

async function readJson(response: Response, path: string): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new CrisError('bad_response', `${path} answered ${response.status} without JSON`, response.status);
  }
}

export function createTransport(options: TransportOptions): Send {
  const base = options.endpoint.replace(/\/+$/, '');
  return async function send(spec, call = {}) {
    const timeoutMs = call.timeout ?? options.timeout;
    const cut = callSignal(call.signal, timeoutMs);
    const headers = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json', ...spec.headers };
    const retrySafe = spec.method === 'GET' || Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key');
    try {
      for (let attempt = 1; ; attempt++) {
        let failure: CrisError;
        try {
          const body = spec.body?.();
          const response = await options.fetch(`${base}${spec.path}`, {
            method: spec.method,
            headers: { ...headers, ...body?.headers },
            body: body?.body,
            signal: cut.signal,
          });
          if (response.ok) return { status: response.status, headers: response.headers, body: await readJson(response, spec.path) };
          failure = await errorFromResponse(response);
        } catch (error) {
          const stopped = cut.stopped(spec.path);
          if (stopped) throw stopped;
          if (error instanceof CrisError) throw error;
          failure = new CrisError('network_error', `${spec.method} ${base}${spec.path} failed: ${String(error)}`, 0, undefined, { cause: error });
        }
        const delay = retrySafe ? retryDelayMs(options.retry, attempt, failure.status, failure.retryAfterSeconds) : null;
        if (delay === null) throw failure;
        await options.sleep(delay, cut.signal).catch(() => {
          throw cut.stopped(spec.path) ?? failure;
        });
      }
    } finally {
      cut.dispose();
    }
  };
}
