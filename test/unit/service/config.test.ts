import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { ConfigError, defaultImagingWorkers, loadConfig } from '../../../gpu-service/src/config.js';

const SECRET = 'a-secret-of-enough-length';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ CRIS_HMAC_SECRET: SECRET });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      bundleDir: 'models/cris-shapes-s',
      provider: 'auto',
      threads: 0,
      ortSpinning: false,
      workers: 1,
      insecureNoAuth: false,
      s3: undefined,
      batcher: { maxBatch: 8, maxQueueDelayMs: 5, maxQueueSize: 64 },
      featureCache: { maxEntries: 64, maxBytes: 512 * 1024 * 1024 },
      requestTimeoutMs: 30_000,
    });
  });

  it('parses every knob', () => {
    const config = loadConfig({
      CRIS_HMAC_SECRET: SECRET,
      CRIS_PORT: '18101',
      CRIS_PROVIDER: 'cuda',
      CRIS_WORKERS: '2',
      CRIS_MAX_BATCH: '32',
      CRIS_MAX_QUEUE_DELAY_MS: '0',
      CRIS_S3_BUCKET: 'results',
      CRIS_S3_ENDPOINT: 'http://127.0.0.1:18102',
      CRIS_S3_FORCE_PATH_STYLE: 'false',
      CRIS_FEATURE_CACHE_MB: '1',
      CRIS_ORT_SPINNING: 'true',
    });
    expect(config.ortSpinning).toBe(true);
    expect(config.port).toBe(18101);
    expect(config.provider).toBe('cuda');
    expect(config.workers).toBe(2);
    expect(config.batcher).toEqual({ maxBatch: 32, maxQueueDelayMs: 0, maxQueueSize: 64 });
    expect(config.s3).toMatchObject({ bucket: 'results', endpoint: 'http://127.0.0.1:18102', forcePathStyle: false, region: 'us-east-1' });
    expect(config.featureCache.maxBytes).toBe(1024 * 1024);
  });

  it('takes every provider choice: auto, cuda, webgpu, cpu', () => {
    for (const provider of ['auto', 'cuda', 'webgpu', 'cpu']) {
      expect(loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_PROVIDER: provider }).provider).toBe(provider);
    }
  });

  it('requires an HMAC secret unless the insecure development flag is set', () => {
    expect(() => loadConfig({})).toThrow(/CRIS_HMAC_SECRET is required/);
    expect(() => loadConfig({ CRIS_HMAC_SECRET: 'short' })).toThrow(ConfigError);
    expect(loadConfig({ CRIS_INSECURE_NO_AUTH: '1' }).hmacSecret).toBeUndefined();
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_PROVIDER: 'tpu' })).toThrow(/CRIS_PROVIDER/);
    expect(() => loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_PROVIDER: 'CUDA' })).toThrow(/CRIS_PROVIDER/);
    expect(() => loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_MAX_BATCH: '0' })).toThrow(/CRIS_MAX_BATCH/);
    expect(() => loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_PORT: 'eighty' })).toThrow(/CRIS_PORT/);
  });

  it('defaults to cores - 1 imaging threads within 1..4 (0, imaging inside the inference workers, only when asked)', () => {
    expect([1, 2, 3, 4, 5, 16].map(defaultImagingWorkers)).toEqual([1, 1, 2, 3, 4, 4]);
    expect(loadConfig({ CRIS_HMAC_SECRET: SECRET }).imagingWorkers).toBe(defaultImagingWorkers(availableParallelism()));
    expect(loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_IMAGING_WORKERS: '0' }).imagingWorkers).toBe(0);
    expect(loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_IMAGING_WORKERS: '3' }).imagingWorkers).toBe(3);
    expect(() => loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_IMAGING_WORKERS: '-1' })).toThrow(ConfigError);
  });

  it('fuses a lone small request beside imaging threads unless CRIS_FUSE_WHEN_IDLE=0', () => {
    expect(loadConfig({ CRIS_HMAC_SECRET: SECRET }).fuseWhenIdle).toBe(true);
    expect(loadConfig({ CRIS_HMAC_SECRET: SECRET, CRIS_FUSE_WHEN_IDLE: '0' }).fuseWhenIdle).toBe(false);
  });
});
