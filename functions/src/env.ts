/**
 * The Worker's configuration, parsed once (zod) from its vars and secrets, and the app's
 * environment type. Imports nothing of the app: every module may import it.
 */
import { z } from 'zod';
import { IMAGE_TTL_SECONDS } from '../../contract/images.js';

/**
 * The app's environment. `Bindings` (vars, secrets, KV, the Durable Object) is generated from
 * wrangler.toml by `npm run types:bindings` into functions/worker-configuration.d.ts; each
 * middleware declares the context variables it sets (hono's ContextVariableMap) next to itself.
 */
export interface AppEnv {
  Bindings: Bindings;
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
