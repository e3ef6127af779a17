/** Where results and images go: S3 when a bucket is configured (the AWS SDK is only loaded then), else nowhere. */
import type { ServiceConfig } from '../config.js';
import type { Logger } from '../core/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { ImageStore } from '../storage/image-store.js';
import type { ResultStore } from '../storage/result-store.js';

export async function createStores(config: ServiceConfig, logger: Logger, metrics: ServiceMetrics): Promise<{ store?: ResultStore; images?: ImageStore }> {
  if (!config.s3) {
    logger.warn('CRIS_S3_BUCKET is not set: results and images are not stored');
    return {};
  }
  const [{ S3ResultStore, createS3Client }, { S3ImageStore }, { WriteRetryQueue }] = await Promise.all([
    import('../storage/result-store.js'),
    import('../storage/image-store.js'),
    import('../storage/write-retry.js'),
  ]);
  // Failed result writes retried for about 8.5 minutes (1 s doubling, 10 attempts), at most 1024 waiting.
  const retry = new WriteRetryQueue({
    maxEntries: 1024,
    maxAttempts: 10,
    baseDelayMs: 1000,
    onDrop: () => metrics.s3RetryDrops.inc(),
    onDepth: (depth) => metrics.s3RetryDepth.set(depth),
  });
  const options = {
    client: createS3Client(config.s3),
    bucket: config.s3.bucket,
    timeoutMs: config.s3.timeoutMs,
    logger,
    onFailure: () => metrics.s3WriteFailures.inc(),
  };
  return { store: new S3ResultStore({ ...options, retry }), images: new S3ImageStore(options) };
}
