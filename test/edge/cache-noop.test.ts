/**
 * On workers.dev the Cache API does nothing (match never finds, put stores nothing). The edge
 * must still answer hits there, from the S3 tier: with caches.default stubbed to such a no-op,
 * results only in S3 are HITs without a GPU call, each read from S3.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256Hex } from '../../contract/hmac.js';
import { tenantResultKey } from '../../contract/result-key.js';
import { resultObjectKey, type SegmentResult } from '../../contract/segment.js';
import { installFakeUpstream, MODEL, type FakeUpstream } from './fake-upstream.js';
import { multipartSegment, seedKey, uniqueImage } from './harness.js';

let fake: FakeUpstream;
let apiKey: string;
let keyId: string;
const cacheCalls = { match: 0, put: 0 };

beforeAll(async () => {
  fake = installFakeUpstream();
  const seeded = await seedKey();
  ({ apiKey } = seeded);
  keyId = seeded.record.keyId;
  vi.spyOn(caches.default, 'match').mockImplementation(async () => {
    cacheCalls.match += 1;
    return undefined;
  });
  vi.spyOn(caches.default, 'put').mockImplementation(async () => {
    cacheCalls.put += 1;
  });
});

async function storeInS3(image: Uint8Array, phrase: string): Promise<string> {
  const id = await tenantResultKey(keyId, { model: MODEL, imageSha256: await sha256Hex(image), phrases: [phrase], options: { format: 'polygon' } });
  const stored: SegmentResult = { id, image_id: await sha256Hex(image), model: MODEL, width: 2, height: 2, results: [], cached: false, timing: { total_ms: 1 } };
  fake.s3Objects.set(resultObjectKey(MODEL, id), JSON.stringify(stored));
  return id;
}

describe('with the Cache API a no-op (workers.dev)', () => {
  it('a result stored in S3 is a HIT answered from S3, no GPU call', async () => {
    for (const phrase of ['the star', 'the moon', 'the sun']) {
      const image = uniqueImage();
      const id = await storeInS3(image, phrase);
      const { computed, s3Gets } = { computed: fake.computed, s3Gets: fake.s3Gets };
      const { match: matches, put: puts } = cacheCalls;
      const res = await multipartSegment(apiKey, image, [phrase]);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('HIT');
      expect(await res.json()).toMatchObject({ id, cached: true, width: 2 });
      expect(fake.computed).toBe(computed);
      expect(fake.s3Gets).toBe(s3Gets + 1);
      // the edge did ask the (no-op) Cache API first, found nothing, and offered it the result
      expect(cacheCalls.match).toBeGreaterThan(matches);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(cacheCalls.put).toBeGreaterThan(puts);
    }
  });
});
