/**
 * What KV stores per API key, under sha256(key) in hex. Shared by the Worker and the key CLI
 * (plain zod + WebCrypto, no Workers types).
 */
import { z } from 'zod';
import { WEBHOOK_SECRET_PATTERN } from '../webhooks/signature.js';

export const KeyLimitsSchema = z.object({
  /** Token bucket: sustained requests per second. */
  ratePerSecond: z.number().positive(),
  /** Token bucket: capacity (largest burst). */
  burst: z.number().int().positive(),
  /** Billable units (phrases answered by the GPU tier) per calendar month (UTC). */
  monthlyQuota: z.number().int().nonnegative(),
});
export type KeyLimits = z.infer<typeof KeyLimitsSchema>;

export const KeyRecordSchema = z.object({
  keyId: z.string().regex(/^key_[A-Za-z0-9]+$/),
  plan: z.string().min(1),
  limits: KeyLimitsSchema,
  disabled: z.boolean().default(false),
  createdAt: z.string().optional(),
  /** Signs this key's webhooks (Standard Webhooks, `whsec_...`); `npm run keys -- webhook-secret <keyId>`. */
  webhookSecret: z.string().regex(WEBHOOK_SECRET_PATTERN).optional(),
});
export type KeyRecord = z.infer<typeof KeyRecordSchema>;

export const PLANS: Record<string, KeyLimits> = {
  free: { ratePerSecond: 2, burst: 10, monthlyQuota: 1_000 },
  pro: { ratePerSecond: 20, burst: 100, monthlyQuota: 100_000 },
  // Loopback tests and benchmarks: effectively unlimited.
  bench: { ratePerSecond: 1_000_000, burst: 1_000_000, monthlyQuota: 1_000_000_000 },
};

export async function hashApiKey(apiKey: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(apiKey));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomBase62(length: number): string {
  const out: string[] = [];
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out.push(BASE62[byte % 62]); // 248 = 4 * 62: unbiased
    }
  }
  return out.join('');
}

export function newApiKey(kind: 'live' | 'test' = 'live'): { apiKey: string; keyId: string } {
  return { apiKey: `cris_${kind}_${randomBase62(32)}`, keyId: `key_${randomBase62(16)}` };
}
