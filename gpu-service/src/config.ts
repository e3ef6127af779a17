/**
 * Service configuration, parsed once from the environment with zod. Every knob has a documented
 * default (gpu-service/README.md lists them); an invalid value stops the process at start with
 * the offending variable named.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { DEFAULT_COST_BUDGET } from './admission/cost-budget.js';
import type { S3Config } from './storage/result-store.js';
import { PROVIDER_CHOICES, type ProviderChoice } from './core/types.js';

const intFrom = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === '1' || value === 'true' || value === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));

/**
 * Imaging threads for a host with `cores` CPU cores: cores - 1, within 1..4. One imaging thread
 * even on 2 cores: decoding the next request while the inference worker runs the current batch
 * beat imaging inside the inference worker (`0`) at c=8 and c=32 on a quiet 2-core host
 * (66-79 vs 40-53 req/s, `npm run bench:service`), with c=1 within noise.
 */
export function defaultImagingWorkers(cores: number): number {
  return Math.max(1, Math.min(4, cores - 1));
}

const EnvSchema = z.object({
  CRIS_HOST: z.string().default('127.0.0.1'),
  CRIS_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Model bundle folder (manifest.json + graphs), relative to the working directory. */
  CRIS_BUNDLE_DIR: z.string().default('models/cris-shapes-s'),
  /** Execution provider: `auto` (CUDA, else CPU), or one that must load (`cuda`, `webgpu`, `cpu`). */
  CRIS_PROVIDER: z.enum(PROVIDER_CHOICES).default('auto'),
  /** onnxruntime intra-op threads per worker; 0 = onnxruntime's default. */
  CRIS_THREADS: intFrom(0),
  /** Let onnxruntime's idle threads spin-wait; off, they sleep and leave the cores to imaging and HTTP. */
  CRIS_ORT_SPINNING: bool(false),
  /** Worker threads, each holding one ModelRunner and its own feature cache. */
  CRIS_WORKERS: intFrom(1, 1),
  /** Imaging threads (decode + letterbox; logits -> masks), shared by all inference workers; 0 = inside them. */
  CRIS_IMAGING_WORKERS: intFrom(defaultImagingWorkers(availableParallelism()), 0),
  /** With imaging threads: a lone small request runs inside the inference worker (one thread round trip instead of three). */
  CRIS_FUSE_WHEN_IDLE: bool(true),
  CRIS_HMAC_SECRET: optionalString,
  /** Accept unsigned requests. For local development only; never in production. */
  CRIS_INSECURE_NO_AUTH: bool(false),
  CRIS_S3_ENDPOINT: optionalString,
  /** Results are not stored when no bucket is set. */
  CRIS_S3_BUCKET: optionalString,
  CRIS_S3_REGION: z.string().default('us-east-1'),
  CRIS_S3_ACCESS_KEY_ID: optionalString,
  CRIS_S3_SECRET_ACCESS_KEY: optionalString,
  CRIS_S3_FORCE_PATH_STYLE: bool(true),
  CRIS_S3_TIMEOUT_MS: intFrom(5000, 1),
  /** Largest head batch (phrase rows); 1 turns batching off. */
  CRIS_MAX_BATCH: intFrom(8, 1),
  /** How long the oldest queued request may wait for a batch to fill. */
  CRIS_MAX_QUEUE_DELAY_MS: intFrom(5),
  /** Queued requests beyond which new ones are refused with 429. */
  CRIS_MAX_QUEUE_SIZE: intFrom(64, 1),
  /** Cost units (ceil(megapixels) x phrases) one tenant may have admitted and unanswered; past it 429. */
  CRIS_TENANT_COST_BUDGET: intFrom(DEFAULT_COST_BUDGET.perTenant, 1),
  /** ... and all tenants together. */
  CRIS_GLOBAL_COST_BUDGET: intFrom(DEFAULT_COST_BUDGET.global, 1),
  /** Image-feature LRU per worker, in entries and bytes (whichever is reached first). */
  CRIS_FEATURE_CACHE_ENTRIES: intFrom(64),
  CRIS_FEATURE_CACHE_MB: intFrom(512),
  /** A request still queued after this long is answered 504. */
  CRIS_REQUEST_TIMEOUT_MS: intFrom(30_000, 1),
  /** Longest wait for the queue to drain on SIGTERM/SIGINT. */
  CRIS_SHUTDOWN_TIMEOUT_MS: intFrom(30_000, 0),
  CRIS_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

/** The environment -> the service's configuration: its one definition (ServiceConfig is inferred from it). */
const ServiceConfigSchema = EnvSchema.transform((e) => ({
  host: e.CRIS_HOST,
  port: e.CRIS_PORT,
  bundleDir: e.CRIS_BUNDLE_DIR,
  provider: e.CRIS_PROVIDER,
  threads: e.CRIS_THREADS,
  ortSpinning: e.CRIS_ORT_SPINNING,
  workers: e.CRIS_WORKERS,
  imagingWorkers: e.CRIS_IMAGING_WORKERS,
  fuseWhenIdle: e.CRIS_FUSE_WHEN_IDLE,
  /** undefined only with `insecureNoAuth` (loadConfig refuses it otherwise). */
  hmacSecret: e.CRIS_HMAC_SECRET,
  insecureNoAuth: e.CRIS_INSECURE_NO_AUTH,
  s3: e.CRIS_S3_BUCKET
    ? ({
        endpoint: e.CRIS_S3_ENDPOINT,
        bucket: e.CRIS_S3_BUCKET,
        region: e.CRIS_S3_REGION,
        accessKeyId: e.CRIS_S3_ACCESS_KEY_ID,
        secretAccessKey: e.CRIS_S3_SECRET_ACCESS_KEY,
        forcePathStyle: e.CRIS_S3_FORCE_PATH_STYLE,
        timeoutMs: e.CRIS_S3_TIMEOUT_MS,
      } satisfies S3Config)
    : undefined,
  batcher: {
    maxBatch: e.CRIS_MAX_BATCH,
    maxQueueDelayMs: e.CRIS_MAX_QUEUE_DELAY_MS,
    maxQueueSize: e.CRIS_MAX_QUEUE_SIZE,
  },
  featureCache: { maxEntries: e.CRIS_FEATURE_CACHE_ENTRIES, maxBytes: e.CRIS_FEATURE_CACHE_MB * 1024 * 1024 },
  costBudget: { perTenant: e.CRIS_TENANT_COST_BUDGET, global: e.CRIS_GLOBAL_COST_BUDGET },
  requestTimeoutMs: e.CRIS_REQUEST_TIMEOUT_MS,
  shutdownTimeoutMs: e.CRIS_SHUTDOWN_TIMEOUT_MS,
  logLevel: e.CRIS_LOG_LEVEL,
}));
export type ServiceConfig = z.output<typeof ServiceConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment (process.env by default); throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServiceConfig {
  const parsed = ServiceConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  if (!config.hmacSecret && !config.insecureNoAuth) {
    throw new ConfigError(
      'invalid configuration: CRIS_HMAC_SECRET is required (set CRIS_INSECURE_NO_AUTH=1 for local development only)',
    );
  }
  if (config.hmacSecret && config.hmacSecret.length < 16) {
    throw new ConfigError('invalid configuration: CRIS_HMAC_SECRET must be at least 16 characters');
  }
  return config;
}
