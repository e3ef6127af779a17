/**
 * Uploaded images kept for `image_id` (contract/images.ts): one S3 object per key and image,
 * with its expiry in the object's metadata (s3rver has no lifecycle rules; the edge refuses an
 * expired one, and a bucket lifecycle rule deletes them in production). Like the result store, a
 * failed write never fails the request: it is logged and `put` resolves false.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { formatSize, IMAGE_EXPIRES_METADATA, IMAGE_ORIGINAL_SIZE_METADATA, type Size } from '../../../contract/images.js';
import { sniffFormat } from '../imaging/decode.js';
import type { S3StoreOptions } from './result-store.js';

export interface ImageStore {
  /** Resolves true when the image was written. Never rejects. */
  /** originalSize: the request's original_size, kept for later requests by image_id. */
  put(key: string, bytes: Uint8Array, expiresAt: number, originalSize?: Size): Promise<boolean>;
}

export class S3ImageStore implements ImageStore {
  constructor(private readonly options: S3StoreOptions) {}

  async put(key: string, bytes: Uint8Array, expiresAt: number, originalSize?: Size): Promise<boolean> {
    try {
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: bytes,
          ContentType: `image/${sniffFormat(bytes) ?? 'octet-stream'}`,
          Metadata: {
            [IMAGE_EXPIRES_METADATA]: String(expiresAt),
            ...(originalSize ? { [IMAGE_ORIGINAL_SIZE_METADATA]: formatSize(originalSize) } : {}),
          },
        }),
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs) },
      );
      return true;
    } catch (error) {
      this.options.onFailure?.();
      this.options.logger.warn('s3 image write failed', { key, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      return false;
    }
  }
}
