/**
 * `image_id` through the edge (workerd, fake GPU and S3 that keep what they are sent): every
 * answer carries it; a later request with it instead of the image is answered from the stored
 * bytes (miss: forwarded to the GPU; same phrase again: a cache hit); an unknown, expired or
 * another key's id is 404 `image_expired`; a cache hit with the image uploaded keeps the image.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../contract/hmac.js';
import { imageObjectKey } from '../../contract/images.js';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { expectError, jsonSegment, multipartSegment, ORIGIN, seedKey, uniqueImage, worker } from './harness.js';

let fake: FakeUpstream;
let key: { apiKey: string; keyId: string };
let other: { apiKey: string; keyId: string };

beforeAll(async () => {
  fake = installFakeUpstream();
  const [a, b] = await Promise.all([seedKey(), seedKey()]);
  key = { apiKey: a.apiKey, keyId: a.record.keyId };
  other = { apiKey: b.apiKey, keyId: b.record.keyId };
});

async function firstAnswer(image: Uint8Array): Promise<{ image_id: string }> {
  const res = await multipartSegment(key.apiKey, image, ['the red one']);
  expect(res.status).toBe(200);
  return (await res.json()) as { image_id: string };
}

async function until(probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('image_id', () => {
  it('is the sha256 of the image; the GPU service is asked to keep the image under the key, for 24 h', async () => {
    const image = uniqueImage();
    const answer = await firstAnswer(image);
    expect(answer.image_id).toBe(await sha256Hex(image));
    const call = fake.gpuCalls.at(-1)!;
    const store = call.options.storeImage as { key: string; expiresAt: number };
    expect(store.key).toBe(imageObjectKey(key.keyId, answer.image_id));
    expect(Math.abs(store.expiresAt - (Date.now() / 1000 + 86_400))).toBeLessThan(60);
  });

  it('a new phrase by image_id (JSON and multipart) is computed from the stored bytes; the same again is a hit', async () => {
    const image = uniqueImage();
    const { image_id } = await firstAnswer(image);
    const calls = fake.computed;
    const res = await jsonSegment(key.apiKey, { image_id, text: 'the blue one' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('MISS');
    const body = (await res.json()) as { image_id: string; results: Array<{ text: string }> };
    expect(body.image_id).toBe(image_id);
    expect(body.results[0].text).toBe('the blue one');
    expect(fake.computed).toBe(calls + 1);
    const forwarded = fake.gpuCalls.at(-1)!;
    expect(forwarded.imageBytes).toBe(image.length); // the stored image went to the GPU
    expect(forwarded.options.storeImage).toBeUndefined(); // already stored
    const form = new FormData();
    form.append('image_id', image_id);
    form.append('text', 'the blue one');
    const hit = await worker.fetch(`${ORIGIN}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${key.apiKey}` }, body: form });
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(fake.computed).toBe(calls + 1);
  });

  it('an unknown id is 404 image_expired', async () => {
    await expectError(await jsonSegment(key.apiKey, { image_id: 'e'.repeat(64), text: 'x' }), 404, 'image_expired');
  });

  it('an expired image is 404 image_expired and is deleted', async () => {
    const image = uniqueImage();
    const { image_id } = await firstAnswer(image);
    const objectKey = imageObjectKey(key.keyId, image_id);
    fake.s3Images.get(objectKey)!.expiresAt = String(Math.floor(Date.now() / 1000) - 1);
    const res = await jsonSegment(key.apiKey, { image_id, text: 'the green one' });
    await expectError(res, 404, 'image_expired');
    await until(() => !fake.s3Images.has(objectKey));
  });

  it("another key's image id is refused the same way (images are scoped per key)", async () => {
    const { image_id } = await firstAnswer(uniqueImage());
    await expectError(await jsonSegment(other.apiKey, { image_id, text: 'the red one' }), 404, 'image_expired');
  });

  it('a cache hit with the image uploaded keeps the image for the key (the GPU never saw it)', async () => {
    const image = uniqueImage();
    const { image_id } = await firstAnswer(image);
    const objectKey = imageObjectKey(key.keyId, image_id);
    fake.s3Images.delete(objectKey); // gone (a lifecycle rule, say) while the result is still cached
    const res = await multipartSegment(key.apiKey, image, ['the red one']);
    expect(res.headers.get('x-cache')).toBe('HIT');
    await until(() => fake.s3Images.has(objectKey));
    const stored = fake.s3Images.get(objectKey)!;
    expect(Number(stored.expiresAt)).toBeGreaterThan(Date.now() / 1000 + 86_000);
    expect(stored.bytes).toEqual(image);
    const byId = await jsonSegment(key.apiKey, { image_id, text: 'the yellow one' });
    expect(byId.status).toBe(200);
  });

  it('image_id must be 64 hex characters', async () => {
    await expectError(await jsonSegment(key.apiKey, { image_id: 'abc', text: 'x' }), 400, 'bad_request');
  });
});
