/**
 * Images kept for `image_id` (contract/images.ts), read by the edge: `images/<key id>/<sha256>`
 * in the bucket, its expiry in the object's metadata. The GPU service writes an image on a miss
 * (it has the bytes and an S3 client: no second upload from the edge); a cache hit, which never
 * reaches the service, has the edge keep the image itself in the background. Every S3 call has
 * a timeout.
 */
import { AwsClient } from 'aws4fetch';
import { ApiError } from '../../../contract/errors.js';
import { sha256Hex } from '../../../contract/hmac.js';
import { formatSize, IMAGE_EXPIRES_METADATA, IMAGE_ORIGINAL_SIZE_METADATA, imageObjectKey, parseSize, type Size } from '../../../contract/images.js';
import type { EdgeConfig } from '../env.js';

/** Per S3 call of this module. */
export const IMAGE_S3_TIMEOUT_MS = 5_000;
const EXPIRES_HEADER = `x-amz-meta-${IMAGE_EXPIRES_METADATA}`;
const ORIGINAL_SIZE_HEADER = `x-amz-meta-${IMAGE_ORIGINAL_SIZE_METADATA}`;

export interface StoredImage {
  bytes: Uint8Array;
  type: string;
  /** The original_size it was uploaded with, if any. */
  originalSize?: Size;
}

export function expiredError(imageId: string): ApiError {
  return new ApiError(
    'image_expired',
    `No stored image ${imageId.slice(0, 12)}… for this key: it expired (images are kept 24 h after their last upload) or was never uploaded with this key. Send the image again.`,
  );
}

export class ImageStore {
  private readonly s3: AwsClient;

  constructor(
    private readonly config: EdgeConfig,
    private readonly waitUntil: (promise: Promise<unknown>) => void,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    const { accessKeyId, secretAccessKey, region } = config.s3;
    this.s3 = new AwsClient({ accessKeyId, secretAccessKey, region, service: 's3', retries: 0 });
  }

  /** Path-style URL of the key's image (S3, R2, MinIO, s3rver). */
  objectUrl(keyId: string, imageId: string): string {
    const key = imageObjectKey(keyId, imageId).split('/').map(encodeURIComponent).join('/');
    return `${this.config.s3.endpoint}/${encodeURIComponent(this.config.s3.bucket)}/${key}`;
  }

  /** The expiry an upload now gets (Unix seconds). */
  expiresAt(): number {
    return this.nowSeconds() + this.config.imageTtlSeconds;
  }

  /** The key's stored image; 404 `image_expired` when missing, expired (then deleted) or not matching its id. */
  async fetch(keyId: string, imageId: string): Promise<StoredImage> {
    const url = this.objectUrl(keyId, imageId);
    let response: Response;
    try {
      response = await this.s3.fetch(url, { method: 'GET', signal: AbortSignal.timeout(IMAGE_S3_TIMEOUT_MS) });
    } catch (error) {
      throw new ApiError('unavailable', `The image store did not answer (${(error as Error).message}).`, 1);
    }
    if (response.status === 404 || response.status === 403) {
      await response.body?.cancel();
      throw expiredError(imageId);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ApiError('unavailable', `The image store answered ${response.status}.`, 1);
    }
    const expires = Number(response.headers.get(EXPIRES_HEADER));
    if (!Number.isFinite(expires) || expires <= this.nowSeconds()) {
      await response.body?.cancel();
      this.waitUntil(this.delete(url));
      throw expiredError(imageId);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if ((await sha256Hex(bytes)) !== imageId) throw expiredError(imageId);
    return { bytes, type: response.headers.get('content-type') ?? 'application/octet-stream', originalSize: parseSize(response.headers.get(ORIGINAL_SIZE_HEADER)) };
  }

  /**
   * After a cache hit with the image uploaded (the service never saw it): in the background,
   * store it for the key unless it is there with more than half its time left.
   */
  keep(keyId: string, imageId: string, bytes: Uint8Array, type: string, originalSize?: Size): void {
    const url = this.objectUrl(keyId, imageId);
    const refresh = async () => {
      const head = await this.s3.fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(IMAGE_S3_TIMEOUT_MS) });
      const left = Number(head.headers.get(EXPIRES_HEADER)) - this.nowSeconds();
      if (head.ok && left > this.config.imageTtlSeconds / 2) return;
      const put = await this.s3.fetch(url, {
        method: 'PUT',
        body: bytes,
        headers: {
          'content-type': type || 'application/octet-stream',
          [EXPIRES_HEADER]: String(this.expiresAt()),
          ...(originalSize ? { [ORIGINAL_SIZE_HEADER]: formatSize(originalSize) } : {}),
        },
        signal: AbortSignal.timeout(IMAGE_S3_TIMEOUT_MS),
      });
      await put.body?.cancel();
      if (!put.ok) throw new Error(`PUT answered ${put.status}`);
    };
    this.waitUntil(refresh().catch((error) => console.warn('image keep failed', (error as Error).message)));
  }

  private async delete(url: string): Promise<void> {
    try {
      const response = await this.s3.fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(IMAGE_S3_TIMEOUT_MS) });
      await response.body?.cancel();
    } catch (error) {
      console.warn('expired image delete failed', (error as Error).message);
    }
  }
}
