import { beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../contract/limits.js';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { base64, expectError, get, jsonSegment, multipartSegment, ORIGIN, seedKey, uniqueImage, worker } from './harness.js';

let fake: FakeUpstream;
let apiKey: string;

beforeAll(async () => {
  fake = installFakeUpstream();
  ({ apiKey } = await seedKey());
});

describe('error shapes and statuses', () => {
  it('404 for an unknown route and for a result that does not exist', async () => {
    await expectError(await get('/v2/nothing'), 404, 'not_found');
    await expectError(await get(`/v1/results/${'0'.repeat(64)}`, apiKey), 404, 'not_found');
    await expectError(await get('/v1/results/not-a-key', apiKey), 404, 'not_found');
  });

  it('415 for other media types, 400 for a missing image or malformed JSON', async () => {
    const text = await worker.fetch(`${ORIGIN}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'text/plain' }, body: 'hi' });
    await expectError(text, 415, 'unsupported_media_type');
    await expectError(await jsonSegment(apiKey, { text: 'the circle' }), 400, 'missing_image');
    const broken = await worker.fetch(`${ORIGIN}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: '{"image":' });
    await expectError(broken, 400, 'bad_request');
    const form = new FormData();
    form.append('text', 'the circle');
    const noImage = await worker.fetch(`${ORIGIN}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
    await expectError(noImage, 400, 'missing_image');
  });

  it('413 for a body over 10 MB', async () => {
    const big = new Uint8Array(LIMITS.maxBodyBytes + 1);
    const res = await multipartSegment(apiKey, big, ['the circle']);
    await expectError(res, 413, 'payload_too_large');
    // Without a Content-Length (streamed), the limit holds while reading.
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > LIMITS.maxBodyBytes) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const streamed = await worker.fetch(`${ORIGIN}/v1/segment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: stream,
    });
    await expectError(streamed, 413, 'payload_too_large');
    expect(fake.computed).toBe(0);
  });

  it('422 for no phrase, too many phrases, a phrase too long, bad options', async () => {
    const image = base64(uniqueImage());
    await expectError(await jsonSegment(apiKey, { image, text: [] }), 422, 'invalid_text');
    await expectError(await jsonSegment(apiKey, { image, text: '   ' }), 422, 'invalid_text');
    await expectError(await jsonSegment(apiKey, { image, text: Array(17).fill('circle') }), 422, 'too_many_phrases');
    await expectError(await jsonSegment(apiKey, { image, text: 'x'.repeat(201) }), 422, 'invalid_text');
    await expectError(await jsonSegment(apiKey, { image, text: 'ok', format: 'svg' }), 422, 'invalid_options');
    await expectError(await jsonSegment(apiKey, { image, text: 'ok', threshold: 1.5 }), 422, 'invalid_options');
    await expectError(await multipartSegment(apiKey, uniqueImage(), ['ok'], { threshold: 'high' }), 422, 'invalid_options');
    await expectError(await jsonSegment(apiKey, { image, text: 'ok', presence_threshold: -0.1 }), 422, 'invalid_options');
    await expectError(await multipartSegment(apiKey, uniqueImage(), ['ok'], { presence_threshold: '1.5' }), 422, 'invalid_options');
    await expectError(await jsonSegment(apiKey, { image, text: ['a', 'b'] }, { accept: 'image/png' }), 422, 'invalid_options');
    // Options are fields of their own (as documented); an `options` object is refused, not ignored.
    await expectError(await jsonSegment(apiKey, { image, text: 'ok', options: { format: 'rle' } }), 422, 'invalid_options');
    await expectError(await multipartSegment(apiKey, uniqueImage(), ['ok'], { options: '{"format":"rle"}' }), 422, 'invalid_options');
    // 16 phrases of 200 characters are fine.
    const ok = await jsonSegment(apiKey, { image, text: Array.from({ length: 16 }, (_, i) => `${i}`.padEnd(200, 'x')) });
    expect(ok.status).toBe(200);
    expect(fake.computed).toBe(1);
  });

  it('passes the GPU tier\'s client errors through (422 invalid_image) and bills nothing', async () => {
    fake.setAll('reject-image');
    try {
      await expectError(await multipartSegment(apiKey, uniqueImage(), ['the circle']), 422, 'invalid_image');
    } finally {
      fake.setAll('ok');
    }
  });
});

describe('forwarding', () => {
  it('signs the request (the fake checks the HMAC) and sends image, phrases and options', async () => {
    const before = fake.computed;
    const res = await multipartSegment(apiKey, uniqueImage(), ['The  RED circle'], { format: 'rle', threshold: '0.4' });
    expect(res.status).toBe(200);
    const call = fake.gpuCalls[before];
    expect(call.phrases).toEqual(['The  RED circle']);
    expect(call.options).toMatchObject({ format: 'rle', threshold: 0.4, resultKey: res.headers.get('x-result-id') });
  });

  it('signs the tenant (the key id), a deadline before its own timeout and a fresh request id for every attempt', async () => {
    const { apiKey: key, record } = await seedKey();
    fake.setAll('ok');
    const before = fake.computed;
    const sent = Date.now();
    expect((await multipartSegment(key, uniqueImage(), ['the circle'])).status).toBe(200);
    const call = fake.gpuCalls[before];
    expect(call.tenant).toBe(record.keyId);
    expect(call.requestId).toMatch(/^[0-9a-f]{32}$/);
    // GPU_TIMEOUT_MS is 2000 in this suite: the deadline is half of it (the margin is at most half)
    expect(call.deadlineMs).toBeGreaterThanOrEqual(sent + 1000);
    expect(call.deadlineMs).toBeLessThanOrEqual(Date.now() + 1000);
    // One image, each backend failing in turn: the one picked first fails once, and the retry
    // carries another id.
    const image = uniqueImage();
    let retried = 0;
    for (const failing of ['gpu-a.test', 'gpu-b.test']) {
      fake.setAll('ok');
      fake.modes.set(failing, 'unavailable');
      const attempts = fake.attemptIds.length;
      expect((await multipartSegment(key, image, [`the circle ${failing}`])).status).toBe(200);
      const ids = fake.attemptIds.slice(attempts);
      if (ids.length === 2) {
        retried += 1;
        expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
        expect(ids[1]).not.toBe(ids[0]);
      }
    }
    expect(retried).toBe(1);
    fake.setAll('ok');
  });

  it('forwards presence_threshold from a multipart field and from JSON', async () => {
    let before = fake.computed;
    const multipart = await multipartSegment(apiKey, uniqueImage(), ['the star'], { presence_threshold: '0.8' });
    expect(multipart.status).toBe(200);
    expect(fake.gpuCalls[before].options).toMatchObject({ presence_threshold: 0.8, resultKey: multipart.headers.get('x-result-id') });
    before = fake.computed;
    const json = await jsonSegment(apiKey, { image: base64(uniqueImage()), text: 'the star', presence_threshold: 0 });
    expect(json.status).toBe(200);
    expect(fake.gpuCalls[before].options).toMatchObject({ presence_threshold: 0 });
  });

  it('retries once on the next backend after a connection error or a 503', async () => {
    for (const mode of ['down', 'unavailable'] as const) {
      const before = fake.computed;
      fake.setAll('ok');
      // Whichever backend the image hash picks first fails; the other answers.
      let answered = false;
      for (const failing of ['gpu-a.test', 'gpu-b.test']) {
        fake.setAll('ok');
        fake.modes.set(failing, mode);
        const res = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
        expect(res.status).toBe(200);
        answered = true;
      }
      expect(answered).toBe(true);
      expect(fake.computed).toBe(before + 2);
      expect(new Set(fake.gpuCalls.slice(before).map((call) => call.host))).toEqual(new Set(['gpu-a.test', 'gpu-b.test']));
    }
    fake.setAll('ok');
  });

  it('503 + Retry-After when every backend is down, then the breaker answers at once without calling it', async () => {
    fake.setAll('down');
    try {
      for (let i = 0; i < 3; i++) {
        const res = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        await expectError(res, 503, 'unavailable');
      }
      const calls = fake.computed;
      const open = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
      expect(Number(open.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(open, 503, 'unavailable');
      expect(fake.computed).toBe(calls);
      expect(await (await get('/healthz')).json()).toMatchObject({ status: 'degraded', breaker: { state: 'open' } });
    } finally {
      fake.setAll('ok');
    }
    // After the cooldown (1 s here) one trial goes through and closes the breaker.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(200);
    expect(await (await get('/healthz')).json()).toMatchObject({ status: 'ok', breaker: { state: 'closed' } });
  });

  it('504 when the GPU tier does not answer within the timeout', async () => {
    fake.setAll('hang');
    try {
      const started = Date.now();
      const res = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(res, 504, 'timeout');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      fake.setAll('ok');
    }
    // The frozen backend opened the breaker (its /readyz did not answer either); after the
    // cooldown the probe answers and closes it again for the files after this one.
    await new Promise((resolve) => setTimeout(resolve, 500)); // the probe (300 ms) has answered
    const waitedFrom = Date.now();
    while ((await (await get('/healthz')).text()).includes('"open"') && Date.now() - waitedFrom < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(200);
  });
});
