/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Symmetric"): the secret is
 * `whsec_` + base64 of random bytes; the signature of a message is
 * `v1,` + base64(HMAC-SHA256(secret bytes, `${webhook-id}.${webhook-timestamp}.${body}`)).
 * Plain WebCrypto: used by the Worker and by the key CLI (which makes the secrets).
 */
import { base64ToBytes, bytesToBase64 } from '../../../contract/base64.js';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/;

/** A new per-key signing secret: `whsec_` + base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + bytesToBase64(crypto.getRandomValues(new Uint8Array(24)));
}

/** The `webhook-signature` header value for one message. */
export async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const key = await crypto.subtle.importKey('raw', base64ToBytes(secret.slice(WEBHOOK_SECRET_PREFIX.length)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}
