/**
 * Webhook delivery for async requests (`Prefer: respond-async` + `webhook`): one message per
 * request, signed (webhooks/signature.ts), POSTed until the receiver answers 2xx: at once, then
 * after 1 s, 4 s and 16 s (4 attempts, 21 s in all, inside the 30 s a Worker's waitUntil may run
 * after its response), each attempt with a 5 s timeout. Every attempt carries the same
 * webhook-id, so a receiver that got an earlier attempt drops the repeat.
 */
import { ApiError } from '../../../contract/errors.js';
import type { SegmentResult } from '../../../contract/segment.js';
import { signWebhook } from './signature.js';

export const RETRY_DELAYS_MS: readonly number[] = [1_000, 4_000, 16_000];
export const ATTEMPT_TIMEOUT_MS = 5_000;

export type WebhookEvent =
  | { type: 'segment.completed'; timestamp: string; data: SegmentResult }
  | { type: 'segment.failed'; timestamp: string; data: { id: string; error: { code: string; message: string } } };

export function completedEvent(result: SegmentResult): WebhookEvent {
  return { type: 'segment.completed', timestamp: new Date().toISOString(), data: result };
}

export function failedEvent(id: string, error: ApiError): WebhookEvent {
  return { type: 'segment.failed', timestamp: new Date().toISOString(), data: { id, ...error.toBody() } };
}

/**
 * https only; plain http to 127.0.0.1 / localhost only when the deployment allows it (local dev:
 * WEBHOOK_ALLOW_HTTP_LOOPBACK=1). 422 `invalid_options` otherwise.
 */
export function checkWebhookUrl(raw: string, allowHttpLoopback: boolean): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('invalid_options', '`webhook` is not a URL.');
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol === 'https:' || (allowHttpLoopback && url.protocol === 'http:' && loopback)) return url.toString();
  throw new ApiError('invalid_options', allowHttpLoopback ? '`webhook` must be https (or http://127.0.0.1 in development).' : '`webhook` must be an https URL.');
}

export interface Delivery {
  url: string;
  secret: string;
  event: WebhookEvent;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** Resolves with the attempts made and whether one was answered 2xx; never rejects. */
export async function deliverWebhook(delivery: Delivery): Promise<{ delivered: boolean; attempts: number }> {
  const send = delivery.fetch ?? fetch;
  const sleep = delivery.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const id = `msg_${crypto.randomUUID().replace(/-/g, '')}`;
  const body = JSON.stringify(delivery.event);
  for (let attempt = 1; attempt <= RETRY_DELAYS_MS.length + 1; attempt++) {
    if (attempt > 1) await sleep(RETRY_DELAYS_MS[attempt - 2]);
    const timestamp = Math.floor(Date.now() / 1000); // per attempt: receivers refuse old timestamps
    try {
      const response = await send(delivery.url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': await signWebhook(delivery.secret, id, timestamp, body),
        },
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (response.ok) return { delivered: true, attempts: attempt };
      console.warn('webhook attempt', attempt, 'answered', response.status, delivery.url);
    } catch (error) {
      console.warn('webhook attempt', attempt, 'failed:', (error as Error).message, delivery.url);
    }
  }
  console.error('webhook not delivered after', RETRY_DELAYS_MS.length + 1, 'attempts', delivery.url);
  return { delivered: false, attempts: RETRY_DELAYS_MS.length + 1 };
}
