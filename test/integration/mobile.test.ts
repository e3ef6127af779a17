/**
 * Mobile first, through the real stack (wrangler dev + GPU service on CPU + s3rver):
 *  - the SDK's shrunk upload (Node, sharp) of a large photo answers masks at the photo's size
 *    that agree with a full-size upload (IoU >= 0.98) on the sample scenes, scaled up;
 *  - image_id: the service keeps the upload in S3 under the key; a new phrase by image_id is
 *    answered; an expired image or another key's id is 404 image_expired;
 *  - signed webhooks: `Prefer: respond-async` + `webhook` POSTs the result to a receiver on
 *    loopback, which fails the first attempt; the retry arrives and its signature verifies with
 *    the `standardwebhooks` package (the spec's TypeScript implementation).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CopyObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageObjectKey } from '../../contract/images.js';
import type { SegmentResult } from '../../contract/segment.js';
import { createS3Client } from '../../gpu-service/src/storage/result-store.js';
import { bitmapIoU, createClient, maskToBitmap, type CrisClient } from '../../sdk/index.js';
import { edgeFetch } from '../helpers/edge-process.js';
import { startMobileStack, type MobileStack } from '../helpers/mobile-stack.js';
import { samples } from '../helpers/stack.js';

let stack: MobileStack;
let cris: CrisClient;

beforeAll(async () => {
  stack = await startMobileStack(18410);
  cris = createClient({ endpoint: stack.edge.origin, apiKey: stack.apiKey, fetch: edgeFetch as typeof fetch });
});

afterAll(async () => {
  await stack?.stop();
});

/** A sample scene scaled up (lanczos) so that its longer side is at least 1600 pixels, as PNG. */
async function largeScene(path: string): Promise<{ bytes: Buffer; width: number; height: number }> {
  const meta = await sharp(path).metadata();
  const factor = Math.ceil(1600 / Math.max(meta.width!, meta.height!));
  const width = meta.width! * factor;
  const height = meta.height! * factor;
  return { bytes: await sharp(path).resize(width, height, { kernel: 'lanczos3' }).png().toBuffer(), width, height };
}

function post(apiKey: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return edgeFetch(`${stack.edge.origin}/v1/segment`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function expectImageExpired(response: Response): Promise<void> {
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(response.status, JSON.stringify(body)).toBe(404);
  expect(body.error.code).toBe('image_expired');
  expect(body.error.message).toMatch(/expired|never uploaded/);
}

describe('shrunk uploads answer masks at the original size', () => {
  for (const sample of samples()) {
    it(`${sample.file} scaled up: the SDK's shrunk upload agrees with the full upload (IoU >= 0.98)`, async () => {
      const photo = await largeScene(sample.image);
      const full = await cris.segment({ image: photo.bytes, text: sample.phrase, format: 'rle', shrink: false });
      const small = await cris.segment({ image: photo.bytes, text: sample.phrase, format: 'rle', shrink: true });
      for (const result of [full, small]) expect([result.width, result.height]).toEqual([photo.width, photo.height]);
      expect(small.image_id).not.toBe(full.image_id); // another upload: the shrunk bytes
      const [a, b] = await Promise.all([full, small].map((result) => maskToBitmap(result.results[0].mask, result.width, result.height)));
      expect(small.results[0].area).toBeGreaterThan(0);
      const iou = bitmapIoU(a, b);
      console.log(`${sample.file} ${photo.width}x${photo.height}: IoU shrunk vs full ${iou.toFixed(4)}, areas ${full.results[0].area} / ${small.results[0].area}`);
      expect(iou).toBeGreaterThanOrEqual(0.98);
      const [fx, fy, fw, fh] = full.results[0].bbox;
      const [sx, sy, sw, sh] = small.results[0].bbox;
      for (const [p, q] of [[fx, sx], [fy, sy], [fx + fw, sx + sw], [fy + fh, sy + sh]]) expect(Math.abs(p - q)).toBeLessThanOrEqual(0.02 * Math.max(photo.width, photo.height));
      // A later phrase by image_id keeps the photo's size (the stored image remembers original_size).
      const byId = await cris.segment({ imageId: small.image_id, text: 'the smallest object', format: 'rle' });
      expect([byId.width, byId.height]).toEqual([photo.width, photo.height]);
    });
  }

  it('an original_size of another aspect ratio is refused (422 invalid_options)', async () => {
    const image = (await sharp(samples()[0].image).png().toBuffer()).toString('base64');
    const res = await post(stack.apiKey, { image, text: 'x', original_size: { width: 1000, height: 1000 } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_options');
  });
});

describe('image_id through the edge, with the real S3 store', () => {
  const s3 = () => createS3Client({ ...stack.s3.config, timeoutMs: 5000 });

  it('the answer carries image_id; the image is kept under the key with its expiry; a new phrase by id is answered', async () => {
    const [sample] = samples();
    const first = await cris.segment({ image: await sharp(sample.image).png().toBuffer(), text: sample.phrase, format: 'rle' });
    const head = await s3().send(new HeadObjectCommand({ Bucket: stack.s3.config.bucket, Key: imageObjectKey(stack.record.keyId, first.image_id) }));
    const expiresAt = Number(head.Metadata?.['expires-at']);
    expect(Math.abs(expiresAt - (Date.now() / 1000 + 86_400))).toBeLessThan(120);
    const second = await cris.segment({ imageId: first.image_id, text: 'the small red square', format: 'rle' });
    expect(second.image_id).toBe(first.image_id);
    expect(second.cached).toBe(false);
    expect([second.width, second.height]).toEqual([first.width, first.height]);
    // The first phrase again by id: the same result as the upload, from the cache.
    const again = await cris.segment({ imageId: first.image_id, text: sample.phrase, format: 'rle' });
    expect(again.cached).toBe(true);
    expect(again.results[0].mask).toEqual(first.results[0].mask);
  });

  it("an unknown id, an expired image and another key's id are 404 image_expired", async () => {
    await expectImageExpired(await post(stack.apiKey, { image_id: '0'.repeat(64), text: 'x' }));
    const sample = samples()[1];
    const first = await cris.segment({ image: await sharp(sample.image).png().toBuffer(), text: sample.phrase });
    await expectImageExpired(await post(stack.other.apiKey, { image_id: first.image_id, text: sample.phrase }));
    // Expire it in place (as a day passing would): the edge refuses it and deletes it.
    const Key = imageObjectKey(stack.record.keyId, first.image_id);
    const Bucket = stack.s3.config.bucket;
    await s3().send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/${Key}`, MetadataDirective: 'REPLACE', Metadata: { 'expires-at': String(Math.floor(Date.now() / 1000) - 5) }, ContentType: 'image/png' }));
    await expectImageExpired(await post(stack.apiKey, { image_id: first.image_id, text: 'the lowest one' }));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const gone = await s3().send(new HeadObjectCommand({ Bucket, Key })).then(() => false, () => true);
      if (gone) break;
      if (Date.now() > deadline) throw new Error('the expired image was not deleted');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});

describe('signed webhooks for async requests', () => {
  interface Received {
    headers: IncomingHttpHeaders;
    body: string;
  }
  let receiver: Server;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(received.length === 1 ? 500 : 204).end(); // the first attempt fails
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('POSTs the result, retried after a failed attempt, signed as Standard Webhooks say', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/cris`;
    const sample = samples()[2];
    const image = (await sharp(sample.image).png().toBuffer()).toString('base64');
    const res = await post(stack.apiKey, { image, text: sample.phrase, webhook: url }, { prefer: 'respond-async' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const deadline = Date.now() + 60_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.length).toBe(2);
    const [failed, delivered] = received;
    expect(delivered.headers['webhook-id']).toBe(failed.headers['webhook-id']); // the same message, retried
    expect(Number(delivered.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Number(failed.headers['webhook-timestamp']));
    const secret = stack.record.webhookSecret!;
    const event = new Webhook(secret).verify(delivered.body, delivered.headers as Record<string, string>) as { type: string; data: SegmentResult };
    expect(event.type).toBe('segment.completed');
    expect(event.data.id).toBe(id);
    expect(event.data.results[0].text).toBe(sample.phrase);
    expect(event.data.image_id).toMatch(/^[0-9a-f]{64}$/);
    // Another secret does not verify it.
    const wrong = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    expect(() => new Webhook(wrong).verify(delivered.body, delivered.headers as Record<string, string>)).toThrow();
  });

  it('refuses a webhook without Prefer: respond-async, and a non-https one on another host', async () => {
    const image = (await sharp(samples()[0].image).png().toBuffer()).toString('base64');
    for (const [webhook, prefer] of [['http://127.0.0.1:9/x', ''], ['http://example.com/hook', 'respond-async']]) {
      const res = await post(stack.apiKey, { image, text: 'x', webhook }, prefer ? { prefer } : {});
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_options');
    }
  });
});
