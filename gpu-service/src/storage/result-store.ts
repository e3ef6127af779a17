/**
 * Where results go after inference: S3 (or any S3-compatible store) under the contract's
 * `resultObjectKey`, plus one PNG per phrase where PNG masks were asked for. A failed write
 * never fails the request: it is logged and counted, `put` resolves false, and the whole write
 * is retried from a bounded queue (write-retry.ts) when one is given. Each object is one
 * PutObject with its Content-Length (S3 refuses a short body: no partial or 0-byte object); the
 * JSON is written only after every PNG it names is, so a reader never sees a JSON result whose
 * PNG is missing.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SegmentResult } from '../../../contract/segment.js';
import { resultObjectKey } from '../../../contract/segment.js';
import type { Logger } from '../core/logger.js';
import type { WriteRetryQueue } from './write-retry.js';

/** Where the S3 client connects (config.ts reads it from the environment). */
export interface S3Config {
  endpoint?: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
  timeoutMs: number;
}

export interface ResultStore {
  /** Resolves true when every object was written. Never rejects. */
  put(model: string, key: string, result: SegmentResult, pngs?: Uint8Array[]): Promise<boolean>;
}

/** `results/<model>/<key>.<i>.png`, next to the JSON result. */
export function pngObjectKey(model: string, key: string, index: number): string {
  return resultObjectKey(model, key).replace(/\.json$/, `.${index}.png`);
}

export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    // s3rver and several S3-compatible stores reject the newer default checksums
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials:
      config.accessKeyId && config.secretAccessKey
        ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
        : undefined,
    maxAttempts: 2,
  });
}

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  timeoutMs: number;
  logger: Logger;
  onFailure?(): void;
  /** Failed writes are retried from it; without one they are only counted. */
  retry?: WriteRetryQueue;
}

interface StoredObject {
  key: string;
  body: Uint8Array;
  contentType: string;
}

export class S3ResultStore implements ResultStore {
  constructor(private readonly options: S3StoreOptions) {}

  async put(model: string, key: string, result: SegmentResult, pngs: Uint8Array[] = []): Promise<boolean> {
    const json: StoredObject = { key: resultObjectKey(model, key), body: new TextEncoder().encode(JSON.stringify(result)), contentType: 'application/json' };
    const images = pngs.map((png, index): StoredObject => ({ key: pngObjectKey(model, key, index), body: png, contentType: 'image/png' }));
    const written = await this.writeAll(json, images);
    if (!written) this.options.retry?.enqueue(() => this.writeAll(json, images));
    return written;
  }

  /** PNGs first; the JSON result (what readers look for) only once they are all written. */
  private async writeAll(json: StoredObject, images: StoredObject[]): Promise<boolean> {
    const results = await Promise.all(images.map((object) => this.write(object)));
    return results.every(Boolean) && (await this.write(json));
  }

  private async write(object: StoredObject): Promise<boolean> {
    try {
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: object.key,
          Body: object.body,
          ContentLength: object.body.byteLength,
          ContentType: object.contentType,
        }),
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs) },
      );
      return true;
    } catch (error) {
      this.options.onFailure?.();
      this.options.logger.warn('s3 write failed', {
        key: object.key,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return false;
    }
  }
}
