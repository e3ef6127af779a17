/**
 * The Worker's bindings, typed once, and its configuration parsed once (zod) from vars/secrets.
 */
import type { TimingVariables } from 'hono/timing';
import { z } from 'zod';
import type { KeyMeter } from './meter/key-meter.js';
import type { KeyRecord } from './auth/key-record.js';
import type { ResultMemo } from './cache/result-memo.js';
import type { S3Health } from './cache/s3-health.js';
import type { PendingHits } from './meter/pending-hits.js';
import type { SegmentResult } from '../../contract/segment.js';
import { IMAGE_TTL_SECONDS } from '../../contract/images.js';

/** Bindings declared in wrangler.toml (vars, secrets, KV, Durable Object, assets). */
export interface Bindings {
  API_KEYS: KVNamespace;
  KEY_METER: DurableObjectNamespace<KeyMeter>;
  /** Comma-separated GPU service base URLs, tried in order from a per-image start. */
  GPU_SERVICE_URLS: string;
  GPU_TIMEOUT_MS: string;
  /** Timeouts of the edge's other outbound calls (ms); see EdgeConfig.timeouts. */
  KV_TIMEOUT_MS?: string;
  METER_TIMEOUT_MS?: string;
  S3_TIMEOUT_MS?: string;
  /** After an S3 lookup timed out or failed, lookups are skipped for this long (s). */
  S3_SKIP_S?: string;
  /** Timeout of the breaker's /readyz probe (ms). */
  BREAKER_PROBE_TIMEOUT_MS?: string;
  /** `<model id>@<version>`: part of every result key. */
  MODEL: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION: string;
  BREAKER_FAILURES: string;
  BREAKER_COOLDOWN_S: string;
  RESULT_MAX_AGE_S: string;
  /** How long an uploaded image can be used by `image_id` (seconds; default contract IMAGE_TTL_SECONDS). */
  IMAGE_TTL_S?: string;
  /** The bundle's network input side, told by GET /v1/models (clients shrink photos to it). */
  MODEL_INPUT_SIZE?: string;
  /** "1" (local dev only): webhooks may be http://127.0.0.1 or http://localhost, not only https. */
  WEBHOOK_ALLOW_HTTP_LOOPBACK?: string;
  /** Secrets. */
  HMAC_SECRET: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
}

/** Per-request values middleware hands to handlers. */
export interface Variables extends TimingVariables {
  config: EdgeConfig;
  apiKey: KeyRecord;
  /** This isolate's memo of recent results (in front of the Cache API). */
  resultMemo: ResultMemo;
  /** Whether this isolate skips S3 lookups for now (after one timed out). */
  s3Health: S3Health;
  /** Results this isolate is computing now, by result key (identical concurrent misses share one). */
  inFlight: Map<string, Promise<SegmentResult>>;
  /** Cache hits this isolate has answered and not yet booked in their KeyMeter. */
  pendingHits: PendingHits;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}

const ConfigSchema = z.object({
  gpuServiceUrls: z.array(z.string().url()).min(1),
  gpuTimeoutMs: z.number().int().positive(),
  model: z.string().regex(/^[a-z0-9-]+@[0-9A-Za-z.+-]+$/),
  s3: z.object({
    endpoint: z.string().url(),
    bucket: z.string().min(1),
    region: z.string().min(1),
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
  }),
  hmacSecret: z.string().min(8),
  breaker: z.object({ failures: z.number().int().positive(), cooldownSeconds: z.number().positive(), probeTimeoutMs: z.number().int().positive() }),
  /** Every outbound call of the edge has one (ms). */
  timeouts: z.object({
    kvMs: z.number().int().positive(),
    meterMs: z.number().int().positive(),
    s3Ms: z.number().int().positive(),
    s3SkipMs: z.number().int().nonnegative(),
  }),
  resultMaxAgeSeconds: z.number().int().nonnegative(),
  imageTtlSeconds: z.number().int().positive(),
  modelInputSize: z.number().int().positive().optional(),
  webhookAllowHttpLoopback: z.boolean(),
});
export type EdgeConfig = z.infer<typeof ConfigSchema>;

/** Parses and checks the vars once; a misconfigured Worker fails loudly on its first request. */
export function parseConfig(env: Bindings): EdgeConfig {
  const urls = (env.GPU_SERVICE_URLS ?? '')
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  const parsed = ConfigSchema.safeParse({
    gpuServiceUrls: urls,
    gpuTimeoutMs: Number(env.GPU_TIMEOUT_MS ?? 30000),
    model: env.MODEL,
    s3: {
      endpoint: (env.S3_ENDPOINT ?? '').replace(/\/+$/, ''),
      bucket: env.S3_BUCKET,
      region: env.S3_REGION ?? 'us-east-1',
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
    },
    hmacSecret: env.HMAC_SECRET,
    breaker: {
      failures: Number(env.BREAKER_FAILURES ?? 3),
      cooldownSeconds: Number(env.BREAKER_COOLDOWN_S ?? 15),
      probeTimeoutMs: Number(env.BREAKER_PROBE_TIMEOUT_MS ?? 2000),
    },
    timeouts: {
      kvMs: Number(env.KV_TIMEOUT_MS ?? 2000),
      meterMs: Number(env.METER_TIMEOUT_MS ?? 3000),
      s3Ms: Number(env.S3_TIMEOUT_MS ?? 2000),
      s3SkipMs: Number(env.S3_SKIP_S ?? 10) * 1000,
    },
    resultMaxAgeSeconds: Number(env.RESULT_MAX_AGE_S ?? 86400),
    imageTtlSeconds: Number(env.IMAGE_TTL_S ?? IMAGE_TTL_SECONDS),
    modelInputSize: env.MODEL_INPUT_SIZE ? Number(env.MODEL_INPUT_SIZE) : undefined,
    webhookAllowHttpLoopback: env.WEBHOOK_ALLOW_HTTP_LOOPBACK === '1',
  });
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`edge configuration is invalid: ${where}`);
  }
  return parsed.data;
}
