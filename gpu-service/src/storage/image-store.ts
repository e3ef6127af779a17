/**
 * Uploaded images kept for `image_id` (contract/images.ts): one S3 object per key and image,
 * with its expiry in the object's metadata (s3rver has no lifecycle rules; the edge refuses an
 * expired one, and a bucket lifecycle rule deletes them in production). Like the result store, a
 * failed write never fails the request: it is logged and `put` resolves false.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { IMAGE_EXPIRES_METADATA } from '../../../contract/images.js';
import { sniffFormat } from '../imaging/decode.js';
import type { S3StoreOptions } from './result-store.js';

export interface ImageStore {
  /** Resolves true when the image was written. Never rejects. */
  put(key: string, bytes: Uint8Array, expiresAt: number): Promise<boolean>;
}

export class S3ImageStore implements ImageStore {
  constructor(private readonly options: S3StoreOptions) {}

  async put(key: string, bytes: Uint8Array, expiresAt: number): Promise<boolean> {
    try {
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: bytes,
          ContentType: `image/${sniffFormat(bytes) ?? 'octet-stream'}`,
          Metadata: { [IMAGE_EXPIRES_METADATA]: String(expiresAt) },
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
