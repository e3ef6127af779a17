/**
 * The SDK against the running local stack (edge + GPU service + s3rver): every mask format decodes
 * to the sample's target, results come back by id, usage and models answer, errors are typed.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, CrisError, maskToBitmap, type Bitmap, type CrisClient } from '../../sdk/index.js';
import { area, bitmapIoU, expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { createKey, samples, startStack, type Stack } from '../helpers/stack.js';

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
      if (format !== 'polygon') expect(area(masks[format]!)).toBe(found!.area);
    }
    expect(bitmapIoU(masks.rle!, masks.png!)).toBe(1);
    expect(bitmapIoU(masks.polygon!, masks.rle!)).toBeGreaterThan(0.9);
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

  it('throws typed errors: an unknown key, an unknown result, a bad phrase', async () => {
    const stranger = createClient({ endpoint: stack.origin, apiKey: 'cris_test_00000000000000000000000000000000' });
    await expect(stranger.usage()).rejects.toMatchObject({ name: 'CrisError', status: 401 });
    await expect(cris.getResult('0'.repeat(64))).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const error = await cris.segment({ image: await readFile(sample!.image), text: ' ' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrisError);
    expect((error as CrisError).status).toBe(422);
  });
});
