import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../contract/hmac.js';
import { resultKey, tenantResultKey } from '../../contract/result-key.js';
import { resultObjectKey, type SegmentResult } from '../../contract/segment.js';
import { installFakeUpstream, MODEL, type FakeUpstream } from './fake-upstream.js';
import { base64, expectError, get, jsonSegment, multipartSegment, seedKey, uniqueImage } from './harness.js';

let fake: FakeUpstream;
let apiKey: string;
let keyId: string;

beforeAll(async () => {
  fake = installFakeUpstream();
  const seeded = await seedKey();
  ({ apiKey } = seeded);
  keyId = seeded.record.keyId;
});

describe('result key', () => {
  it('same image and equivalent phrasing -> same key; any option, phrase or image change -> another', async () => {
    const image = uniqueImage();
    const imageSha256 = await sha256Hex(image);
    const base = { model: MODEL, imageSha256, phrases: ['the red circle'], options: { format: 'polygon' as const } };
    const key = await resultKey(base);
    expect(await resultKey({ ...base, phrases: ['  The   RED circle '] })).toBe(key);
    expect(await resultKey({ ...base, phrases: ['the red &amp; circle'] })).toBe(await resultKey({ ...base, phrases: ['the red & circle'] }));
    const others = await Promise.all([
      resultKey({ ...base, options: { format: 'rle' } }),
      resultKey({ ...base, options: { format: 'polygon', threshold: 0.5 } }),
      resultKey({ ...base, phrases: ['the blue circle'] }),
      resultKey({ ...base, imageSha256: await sha256Hex(uniqueImage()) }),
      resultKey({ ...base, model: 'cris-shapes-s@1.0.1' }),
    ]);
    expect(new Set([key, ...others]).size).toBe(6);
  });

  it('the edge uses that key: equivalent requests share one result, multipart and JSON alike', async () => {
    const image = uniqueImage();
    const first = await multipartSegment(apiKey, image, ['the red circle']);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const id = first.headers.get('x-result-id');
    expect(id).toBe(await tenantResultKey(keyId, { model: MODEL, imageSha256: await sha256Hex(image), phrases: ['the red circle'], options: { format: 'polygon' } }));
    const calls = fake.computed;
    const again = await jsonSegment(apiKey, { image: base64(image), text: 'The Red  Circle' });
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.headers.get('x-result-id')).toBe(id);
    const body = (await again.json()) as SegmentResult;
    expect(body).toMatchObject({ id, cached: true, model: MODEL });
    expect(fake.computed).toBe(calls);
    const otherFormat = await jsonSegment(apiKey, { image: base64(image), text: 'the red circle', format: 'rle' });
    expect(otherFormat.headers.get('x-cache')).toBe('MISS');
    expect(otherFormat.headers.get('x-result-id')).not.toBe(id);
    const otherThreshold = await jsonSegment(apiKey, { image: base64(image), text: 'the red circle', threshold: 0.6 });
    expect(otherThreshold.headers.get('x-cache')).toBe('MISS');
    const otherPresence = await jsonSegment(apiKey, { image: base64(image), text: 'the red circle', presence_threshold: 0.9 });
    expect(otherPresence.headers.get('x-cache')).toBe('MISS');
    expect(otherPresence.headers.get('x-result-id')).not.toBe(id);
    expect(fake.computed).toBe(calls + 3);
  });
});

describe('lookup order: edge cache -> S3 -> GPU', () => {
  it('a result only in S3 is a HIT without the GPU, then lands in the edge cache', async () => {
    const image = uniqueImage();
    const id = await tenantResultKey(keyId, { model: MODEL, imageSha256: await sha256Hex(image), phrases: ['the star'], options: { format: 'polygon' } });
    const stored: SegmentResult = { id, image_id: await sha256Hex(image), model: MODEL, width: 2, height: 2, results: [], cached: false, timing: { total_ms: 1 } };
    fake.s3Objects.set(resultObjectKey(MODEL, id), JSON.stringify(stored));
    const calls = fake.computed;
    const s3Gets = fake.s3Gets;
    const res = await multipartSegment(apiKey, image, ['the star']);
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(await res.json()).toMatchObject({ id, cached: true, width: 2 });
    expect(fake.computed).toBe(calls);
    expect(fake.s3Gets).toBe(s3Gets + 1);
    // Now in the edge cache: S3 is not asked again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await multipartSegment(apiKey, image, ['the star'])).headers.get('x-cache')).toBe('HIT');
    expect(fake.s3Gets).toBe(s3Gets + 1);
  });

  it('GET /v1/results/{id} serves a stored result with ETag and Cache-Control, 304 on If-None-Match', async () => {
    const res = await multipartSegment(apiKey, uniqueImage(), ['the triangle']);
    const id = res.headers.get('x-result-id')!;
    const stored = await get(`/v1/results/${id}`, apiKey);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('etag')).toBe(`"${id}"`);
    expect(stored.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(await stored.json()).toMatchObject({ id, cached: true, results: [{ text: 'the triangle' }] });
    const notModified = await get(`/v1/results/${id}`, apiKey, { 'if-none-match': `"${id}"` });
    expect(notModified.status).toBe(304);
    await expectError(await get(`/v1/results/${id}`), 401, 'unauthorized');
  });

  it('Accept: image/png with one phrase answers the mask PNG (and caches it under the png key)', async () => {
    const image = uniqueImage();
    const res = await multipartSegment(apiKey, image, ['the pink one'], {}, { accept: 'image/png' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(new TextDecoder().decode(await res.arrayBuffer())).toBe('PNG-the pink one');
    const again = await multipartSegment(apiKey, image, ['the pink one'], { format: 'png' });
    expect(again.headers.get('x-cache')).toBe('HIT');
  });

  it('identical concurrent misses share one computation: one GPU call, billed once, the other booked as cached', async () => {
    const { apiKey: key } = await seedKey();
    const image = uniqueImage();
    let release!: () => void;
    fake.gate = new Promise((resolve) => (release = resolve));
    const calls = fake.computed;
    try {
      const first = multipartSegment(key, image, ['the green star']);
      while (fake.computed === calls) await new Promise((resolve) => setTimeout(resolve, 10));
      const second = multipartSegment(key, image, ['The green  star']);
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      const answers = await Promise.all([first, second]);
      expect(answers.map((res) => res.status)).toEqual([200, 200]);
      expect(answers.map((res) => res.headers.get('x-cache'))).toEqual(['MISS', 'HIT']);
      expect(fake.computed).toBe(calls + 1);
    } finally {
      fake.gate = null;
      release();
    }
    const usage = (await (await get('/v1/usage', key)).json()) as { totals: unknown };
    expect(usage.totals).toEqual({ requests: 2, billable: 1, cached: 1 });
  });
});
