import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentResult } from '../../../contract/segment.js';
import { resultObjectKey } from '../../../contract/segment.js';
import { silentLogger } from '../../helpers/service-reference.js';
import { S3ResultStore, createS3Client, pngObjectKey } from '../../../gpu-service/src/storage/result-store.js';
import { WriteRetryQueue } from '../../../gpu-service/src/storage/write-retry.js';
import { startS3rver, type S3rverHandle } from '../../helpers/service-process.js';

const RESULT: SegmentResult = {
  id: 'a'.repeat(64),
  image_id: 'b'.repeat(64),
  model: 'm@1',
  width: 2,
  height: 2,
  results: [{ text: 'x', found: true, presence: null, score: 0.5, bbox: [0, 0, 1, 1], area: 1, regions: 1, mask: { format: 'png', data: 'AA==' } }],
  cached: false,
  timing: { total_ms: 1 },
};

describe('S3ResultStore', () => {
  let s3: S3rverHandle;
  let directory: string;
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'cris-s3-'));
    s3 = await startS3rver({ port: 18110, directory, bucket: 'results' });
  });
  afterAll(async () => {
    await s3?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('writes the JSON result under resultObjectKey and one PNG per phrase', async () => {
    const client = createS3Client({ ...s3.config, timeoutMs: 5000 });
    const store = new S3ResultStore({ client, bucket: 'results', timeoutMs: 5000, logger: silentLogger });
    const ok = await store.put('m@1', RESULT.id, RESULT, [new Uint8Array([137, 80, 78, 71])]);
    expect(ok).toBe(true);
    const json = await client.send(new GetObjectCommand({ Bucket: 'results', Key: resultObjectKey('m@1', RESULT.id) }));
    expect(JSON.parse(await json.Body!.transformToString())).toEqual(RESULT);
    expect(pngObjectKey('m@1', RESULT.id, 0)).toBe(`results/m@1/${RESULT.id}.0.png`);
    const png = await client.send(new GetObjectCommand({ Bucket: 'results', Key: pngObjectKey('m@1', RESULT.id, 0) }));
    expect([...(await png.Body!.transformToByteArray())]).toEqual([137, 80, 78, 71]);
  });

  it('never rejects when S3 is down: logs, counts and resolves false; the JSON is not written without its PNG', async () => {
    let failures = 0;
    const warnings: string[] = [];
    const client = createS3Client({ ...s3.config, endpoint: 'http://127.0.0.1:18119', timeoutMs: 2000 });
    const store = new S3ResultStore({
      client,
      bucket: 'results',
      timeoutMs: 2000,
      logger: { ...silentLogger, warn: (message) => warnings.push(message) },
      onFailure: () => failures++,
    });
    await expect(store.put('m@1', RESULT.id, RESULT, [new Uint8Array([1]), new Uint8Array([2])])).resolves.toBe(false);
    // both PNGs failed, so the JSON (which names them) was not attempted
    expect(failures).toBe(2);
    expect(warnings).toEqual(['s3 write failed', 's3 write failed']);
  });

  it('a result computed while S3 is down lands, whole, once S3 is back (the retry queue)', async () => {
    const outageDirectory = mkdtempSync(join(tmpdir(), 'cris-s3-outage-'));
    const port = 18111;
    let outage = await startS3rver({ port, directory: outageDirectory, bucket: 'results' });
    try {
      const { config } = outage;
      await outage.close(); // S3 goes down before the write
      const retry = new WriteRetryQueue({ maxEntries: 8, maxAttempts: 20, baseDelayMs: 100 });
      const client = createS3Client({ ...config, timeoutMs: 1000 });
      const store = new S3ResultStore({ client, bucket: 'results', timeoutMs: 1000, logger: silentLogger, retry });
      await expect(store.put('m@1', RESULT.id, RESULT, [new Uint8Array([137, 80, 78, 71])])).resolves.toBe(false);
      expect(retry.depth).toBe(1);
      outage = await startS3rver({ port, directory: outageDirectory, bucket: 'results' }); // S3 is back
      const deadline = Date.now() + 15_000;
      while (retry.depth > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(retry.depth).toBe(0);
      expect(retry.dropped).toBe(0);
      const json = await client.send(new GetObjectCommand({ Bucket: 'results', Key: resultObjectKey('m@1', RESULT.id) }));
      expect(JSON.parse(await json.Body!.transformToString())).toEqual(RESULT);
      const png = await client.send(new GetObjectCommand({ Bucket: 'results', Key: pngObjectKey('m@1', RESULT.id, 0) }));
      expect([...(await png.Body!.transformToByteArray())]).toEqual([137, 80, 78, 71]);
      retry.close();
    } finally {
      await outage.close().catch(() => undefined);
      rmSync(outageDirectory, { recursive: true, force: true });
    }
  }, 30_000);

  it('counts a missing bucket as a failed write', async () => {
    let failures = 0;
    const client = createS3Client({ ...s3.config, timeoutMs: 5000 });
    const store = new S3ResultStore({ client, bucket: 'no-such-bucket', timeoutMs: 5000, logger: silentLogger, onFailure: () => failures++ });
    await expect(store.put('m@1', RESULT.id, RESULT)).resolves.toBe(false);
    expect(failures).toBe(1);
  });
});
