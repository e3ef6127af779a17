/**
 * Where results go after inference: S3 (or any S3-compatible store) under the contract's
 * `resultObjectKey`, plus one PNG per phrase where PNG masks were asked for. A failed write
 * never fails the request: it is logged and counted, and `put` resolves false.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SegmentResult } from '../../../contract/segment.js';
import { resultObjectKey } from '../../../contract/segment.js';
import type { S3Config } from '../config.js';
import type { Logger } from '../server/logger.js';

export interface ResultStore {
  /** Resolves true when every object was written. Never rejects. */
  put(model: string, key: string, result: SegmentResult, pngs?: Uint8Array[]): Promise<boolean>;
}

/** `results/<model>/<key>.<i>.png`, next to the JSON result. */
export function pngObjectKey(model: string, key: string, index: number): string {
  return resultObjectKey(model, key).replace(/\.json$/, `.${index}.png`);
}

export class NullResultStore implements ResultStore {
  async put(): Promise<boolean> {
    return true;
  }
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
}

export class S3ResultStore implements ResultStore {
  constructor(private readonly options: S3StoreOptions) {}

  async put(model: string, key: string, result: SegmentResult, pngs: Uint8Array[] = []): Promise<boolean> {
    const objects: { key: string; body: Uint8Array | string; contentType: string }[] = [
      { key: resultObjectKey(model, key), body: JSON.stringify(result), contentType: 'application/json' },
      ...pngs.map((png, index) => ({ key: pngObjectKey(model, key, index), body: png, contentType: 'image/png' })),
    ];
    // PNGs first: the JSON result is what readers look for, so it lands last.
    const [json, ...images] = objects;
    const results = await Promise.all(images.map((object) => this.write(object)));
    results.push(await this.write(json));
    return results.every(Boolean);
  }

  private async write(object: { key: string; body: Uint8Array | string; contentType: string }): Promise<boolean> {
    try {
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: object.key,
          Body: object.body,
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
