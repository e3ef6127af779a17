/**
 * The async side of the client: polling `GET /v1/results/{id}` after `Prefer: respond-async`, and
 * the Idempotency-Key a POST carries so that its retries are answered once.
 */
import { CrisError } from './errors.js';
import type { CallOptions, Send } from './transport.js';
import type { SegmentResult } from './wire.js';

export interface WaitOptions {
  signal?: AbortSignal;
  /** Milliseconds to wait for the result in all (default 300000; 0: no limit). */
  timeout?: number;
  /** First pause between polls in ms (default 500); it grows by half each poll, to 5000. */
  intervalMs?: number;
}

export const DEFAULT_WAIT_MS = 300_000;
const MAX_INTERVAL_MS = 5_000;

/** A random UUID (v4), from crypto where the platform has it (React Native may not). */
export function newIdempotencyKey(): string {
  const cryptoApi = (globalThis as { crypto?: Partial<Crypto> }).crypto;
  if (typeof cryptoApi?.randomUUID === 'function') return cryptoApi.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof cryptoApi?.getRandomValues === 'function') cryptoApi.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Polls until the result is stored: a 404 means "not yet" (the result of an async request is 404
 * until it lands), a stored failure is thrown as its CrisError, and the deadline or the signal
 * ends the wait with `timeout` / `aborted`.
 */
export async function waitForResult(
  send: Send,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  id: string,
  options: WaitOptions = {},
): Promise<SegmentResult> {
  const limitMs = options.timeout ?? DEFAULT_WAIT_MS;
  const endMs = limitMs > 0 ? Date.now() + limitMs : Infinity;
  const path = `/v1/results/${encodeURIComponent(id)}`;
  const timedOut = () => new CrisError('timeout', `${path}: no result within ${limitMs} ms`, 0);
  let intervalMs = options.intervalMs ?? 500;
  for (;;) {
    const leftMs = endMs - Date.now();
    if (leftMs <= 0) throw timedOut();
    const call: CallOptions = { signal: options.signal, timeout: Number.isFinite(leftMs) ? Math.ceil(leftMs) : 0 };
    try {
      return (await send({ method: 'GET', path }, call)).body as SegmentResult;
    } catch (error) {
      if (!(error instanceof CrisError) || error.status !== 404 || error.code !== 'not_found') throw error;
    }
    const pauseMs = Math.min(intervalMs, endMs - Date.now());
    if (pauseMs <= 0) throw timedOut();
    await sleep(pauseMs, options.signal).catch((reason: unknown) => {
      throw new CrisError('aborted', `${path}: aborted by the caller`, 0, undefined, { cause: reason });
    });
    intervalMs = Math.min(MAX_INTERVAL_MS, intervalMs * 1.5);
  }
}
