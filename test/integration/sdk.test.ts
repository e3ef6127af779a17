/**
 * The SDK against the running local stack (edge + GPU service + s3rver): every mask format decodes
 * to the sample's target, results come back by id, usage and models answer, errors are typed.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import sharp from 'sharp';
import { SegmentResultSchema, type SegmentResult } from '../../contract/segment.js';
import { createClient, CrisError, decodePngMask, maskToBitmap, rleCounts, type Bitmap, type CrisClient } from '../../sdk/index.js';
import { ReactNativeBlob, ReactNativeFileReader, ReactNativeFormData, reactNativeFetch } from '../helpers/react-native.js';
import { area, bitmapIoU, expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { createKey, samples, startStack, TEST_BUNDLE_DIR, TRAINED, type Stack } from '../helpers/stack.js';

let stack: Stack;
let cris: CrisClient;
const [sample, second] = samples();

beforeAll(async () => {
  stack = await startStack({ port: 18330 });
  cris = createClient({ endpoint: stack.origin, apiKey: stack.apiKey });
});

afterAll(async () => {
  await stack?.stop();
});

describe('SDK against the local stack', () => {
  it('decodes polygon, RLE and PNG masks to the same object, the sample target', async () => {
    const image = await readFile(sample!.image);
    const target = await readMaskFile(sample!.mask);
    const masks: Record<string, Bitmap> = {};
    for (const format of ['polygon', 'rle', 'png'] as const) {
      const result = await cris.segment({ image, text: sample!.phrase, format });
      const [found] = result.results;
      expect(found!.mask.format).toBe(format);
      masks[format] = await maskToBitmap(found!.mask, result.width, result.height);
      expectTarget(masks[format]!, target);
      expect(area(masks[format]!)).toBe(found!.area);
    }
    // Polygons hold exactly the mask's pixel centres: all three formats are the same pixels.
    expect(bitmapIoU(masks.rle!, masks.png!)).toBe(1);
    expect(bitmapIoU(masks.polygon!, masks.rle!)).toBe(1);
  });

  it('answers several phrases in order, from a Blob, and serves the stored result by id', async () => {
    const blob = new Blob([new Uint8Array(await readFile(second!.image))], { type: 'image/png' });
    const result = await cris.segment({ image: blob, text: [second!.phrase, 'the smallest object'], format: 'rle' });
    expect(result.results.map((r) => r.text)).toEqual([second!.phrase, 'the smallest object']);
    const target = await readMaskFile(second!.mask);
    expectTarget(await maskToBitmap(result.results[0]!.mask, result.width, result.height), target);

    const again = await cris.getResult(result.id);
    expect(again.id).toBe(result.id);
    expect(again.results).toEqual(result.results);

    const repeat = await cris.segment({ image: blob, text: [second!.phrase, 'the smallest object'], format: 'rle' });
    expect(repeat.cached).toBe(true);
    expect(repeat.id).toBe(result.id);
  });

  // "the purple star" names nothing in the first sample; presence_threshold 1 makes a bundle with
  // a presence output say so whatever it computes, and the shipped bundle without one answers an
  // empty mask for it (found by area). A random-init bundle outlines something for any phrase.
  it.skipIf(!TRAINED)('a phrase that names nothing: found false and a valid empty mask in every format, decoded by the SDK, billed one unit each', async () => {
    const image = await readFile(sample!.image);
    const { width, height } = await sharp(image).metadata();
    const billed = async () => (await cris.usage()).totals.billable;
    const before = await billed();
    const answers: Record<string, SegmentResult> = {
      polygon: await cris.segment({ image, text: 'the purple star', format: 'polygon', presence_threshold: 1 }),
      png: await cris.segment({ image, text: 'the purple star', format: 'png', presence_threshold: 1 }),
    };
    // JSON body, the option at the top level
    const json = await fetch(`${stack.origin}/v1/segment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: image.toString('base64'), text: 'the purple star', format: 'rle', presence_threshold: 1 }),
    });
    expect(json.status).toBe(200);
    answers.rle = SegmentResultSchema.parse(await json.json());
    for (const [format, answer] of Object.entries(answers)) {
      expect(answer.cached, format).toBe(false);
      const [phrase] = answer.results;
      expect(phrase, `${format} with ${TEST_BUNDLE_DIR}`).toMatchObject({ text: 'the purple star', found: false, score: 0, bbox: [0, 0, 0, 0], area: 0, regions: 0 });
      expect(phrase!.presence === null || (phrase!.presence >= 0 && phrase!.presence <= 1)).toBe(true);
      expect(phrase!.mask.format).toBe(format);
      const bitmap = await maskToBitmap(phrase!.mask, answer.width, answer.height);
      expect([bitmap.width, bitmap.height, area(bitmap)]).toEqual([width, height, 0]);
    }
    const { polygon, rle, png } = Object.fromEntries(Object.entries(answers).map(([f, a]) => [f, a.results[0]!.mask]));
    expect(polygon).toEqual({ format: 'polygon', coordinates: [] });
    if (rle!.format !== 'rle' || png!.format !== 'png') throw new Error('formats');
    expect(rle.size).toEqual([height, width]);
    expect(rleCounts(rle.counts)).toEqual([width! * height!]); // COCO RLE of all zeros: one run of zeros
    const pngBytes = Buffer.from(png.data, 'base64');
    const meta = await sharp(pngBytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', width, height, 1]);
    expect(area(await decodePngMask(png.data))).toBe(0);
    expect(await billed()).toBe(before + 3); // a phrase costs one unit, found or not
  });

  it('reads usage and models', async () => {
    const usage = await cris.usage();
    expect(usage.key_id).toMatch(/^key_/);
    expect(usage.totals.requests).toBeGreaterThan(0);
    expect(usage.quota.limit).toBeGreaterThan(0);
    const models = await cris.models();
    expect(models.data.map((model) => model.ref)).toContain((await cris.getResult((await cris.segment({ image: await readFile(sample!.image), text: sample!.phrase })).id)).model);
  });

  it('rides out real 429s: a burst beyond a free key\'s rate limit all succeeds through retries', async () => {
    const free = await createKey(stack, 'free'); // 2 requests/s, bursts of 10
    const waits: number[] = [];
    const client = createClient({
      endpoint: stack.origin,
      apiKey: free,
      retry: { maxAttempts: 10, maxDelayMs: 4000 },
      sleep: (ms) => (waits.push(ms), new Promise((resolve) => setTimeout(resolve, ms))),
    });
    const image = await readFile(sample!.image);
    const answers = await Promise.all(Array.from({ length: 16 }, () => client.segment({ image, text: sample!.phrase, format: 'rle' })));
    expect(new Set(answers.map((answer) => answer.id)).size).toBe(1);
    expect(waits.length).toBeGreaterThanOrEqual(3); // the requests beyond the burst waited
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000); // Retry-After is whole seconds
  });

  it('an answer lost on the way back: the retry carries the same Idempotency-Key and the edge replays the first answer', async () => {
    // a proxy in front of the edge passes the first POST on, lets the edge compute and answer, then drops the connection
    const posts: Array<{ key: string | undefined; replayed: string | null; status: number }> = [];
    const proxy = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(['authorization', 'content-type', 'accept', 'idempotency-key', 'prefer'].flatMap((name) => (req.headers[name] ? [[name, String(req.headers[name])]] : [])));
      const upstream = await fetch(`${stack.origin}${req.url}`, { method: req.method, headers, body: req.method === 'POST' ? Buffer.concat(chunks) : undefined });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (req.method === 'POST') posts.push({ key: req.headers['idempotency-key'] as string | undefined, replayed: upstream.headers.get('idempotent-replayed'), status: upstream.status });
      if (req.method === 'POST' && posts.length === 1) return void req.socket.destroy();
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const client = createClient({ endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, apiKey: stack.apiKey, retry: { baseDelayMs: 50 } });
      const result = await client.segment({ image: await readFile(second!.image), text: 'the shape nearest the bottom edge', format: 'rle' });
      expect(posts.map((post) => post.status)).toEqual([200, 200]);
      expect(posts[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(posts[1]!.key).toBe(posts[0]!.key);
      expect(posts.map((post) => post.replayed)).toEqual([null, 'true']); // the second answer is the stored first one
      expect(result.results[0]!.text).toBe('the shape nearest the bottom edge');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('throws typed errors: an unknown key, an unknown result, a bad phrase', async () => {
    const stranger = createClient({ endpoint: stack.origin, apiKey: 'cris_test_00000000000000000000000000000000' });
    await expect(stranger.usage()).rejects.toMatchObject({ name: 'CrisError', status: 401 });
    await expect(cris.getResult('0'.repeat(64))).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const error = await cris.segment({ image: await readFile(sample!.image), text: ' ' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrisError);
    expect((error as CrisError).status).toBe(422);
  });
});

describe('SDK in React Native (its Blob, FileReader and FormData: test/helpers/react-native.ts) against the stack', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('a React Native Blob, bytes and a { uri } file all segment, each in a body React Native can send', async () => {
    vi.stubGlobal('Blob', ReactNativeBlob);
    vi.stubGlobal('FileReader', ReactNativeFileReader);
    vi.stubGlobal('FormData', ReactNativeFormData);
    const sent: Array<{ contentType: string | null; parts?: string[]; image?: string }> = [];
    const mobile = createClient({ endpoint: stack.origin, apiKey: stack.apiKey, fetch: reactNativeFetch(sent) });
    const bytes = new Uint8Array(await readFile(sample!.image));
    const target = await readMaskFile(sample!.mask);
    const blob = ReactNativeBlob.fromNative(bytes, 'image/png');
    expect(() => new ReactNativeBlob([bytes as never])).toThrow(/not supported/); // as React Native's own
    expect((blob as unknown as Blob).arrayBuffer).toBeUndefined();

    const fromBlob = await mobile.segment({ image: blob as unknown as Blob, text: sample!.phrase, format: 'rle' });
    const fromBytes = await mobile.segment({ image: bytes, text: [sample!.phrase, 'the smallest object'], format: 'rle' });
    const fromFile = await mobile.segment({ image: { uri: pathToFileURL(sample!.image).href, name: 'scene.png', type: 'image/png' }, text: sample!.phrase, format: 'rle' });
    for (const answer of [fromBlob, fromBytes, fromFile]) {
      expect(answer.image_id).toBe(fromBlob.image_id); // the same bytes arrived every time
      expectTarget(await maskToBitmap(answer.results[0]!.mask, answer.width, answer.height), target);
    }
    expect(sent).toEqual([
      { contentType: 'application/json', image: 'data:image/png;base64,...' }, // the Blob, read with FileReader.readAsDataURL
      { contentType: 'application/json', image: 'data:image/png;base64,...' }, // bytes: React Native cannot make a Blob of them
      { contentType: 'multipart/form-data', parts: ['image', 'text', 'format'] }, // the file part by its uri
    ]);
  });
});
