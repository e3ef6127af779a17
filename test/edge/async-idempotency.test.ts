import { beforeAll, describe, expect, it } from 'vitest';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { MAX_REPLAY_BYTES } from '../../functions/src/http/idempotency.js';
import { base64, expectError, get, jsonSegment, multipartSegment, seedKey, uniqueImage } from './harness.js';

let fake: FakeUpstream;
let apiKey: string;

beforeAll(async () => {
  fake = installFakeUpstream();
  ({ apiKey } = await seedKey());
});

async function until<T>(probe: () => Promise<T | null>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('Prefer: respond-async', () => {
  it('answers 202 with the result URL; the URL is 404 until the result lands, then serves it', async () => {
    let release!: () => void;
    fake.gate = new Promise((resolve) => (release = resolve));
    try {
      const res = await multipartSegment(apiKey, uniqueImage(), ['the big square'], {}, { prefer: 'respond-async' });
      expect(res.status).toBe(202);
      expect(res.headers.get('preference-applied')).toBe('respond-async');
      const body = (await res.json()) as { id: string; status: string; result_url: string };
      expect(body.status).toBe('pending');
      expect(res.headers.get('location')).toBe(body.result_url);
      const path = new URL(body.result_url).pathname;
      expect(path).toBe(`/v1/results/${body.id}`);
      await until(async () => (fake.gpuCalls.length > 0 ? true : null));
      await expectError(await get(path, apiKey), 404, 'not_found');
      release();
      const done = await until(async () => {
        const poll = await get(path, apiKey);
        return poll.status === 200 ? poll : null;
      });
      expect(await done.json()).toMatchObject({ id: body.id, results: [{ text: 'the big square' }] });
      // Billed once the background work finished.
      const usage = await until(async () => {
        const report = (await (await get('/v1/usage', apiKey)).json()) as { totals: { billable: number } };
        return report.totals.billable === 1 ? report : null;
      });
      expect(usage.totals.billable).toBe(1);
    } finally {
      fake.gate = null;
    }
  });

  it('a background computation that fails is reported at the result URL (the error, not 404)', async () => {
    fake.setAll('reject-image');
    try {
      const res = await multipartSegment(apiKey, uniqueImage(), ['the circle'], {}, { prefer: 'respond-async' });
      expect(res.status).toBe(202);
      const { result_url: resultUrl } = (await res.json()) as { result_url: string };
      const failed = await until(async () => {
        const poll = await get(new URL(resultUrl).pathname, apiKey);
        return poll.status === 404 ? null : poll;
      });
      await expectError(failed, 422, 'invalid_image');
    } finally {
      fake.setAll('ok');
    }
  });

  it('a request whose result exists is answered at once (200, HIT) even when async is preferred', async () => {
    const image = uniqueImage();
    expect((await multipartSegment(apiKey, image, ['the star'])).status).toBe(200);
    const res = await multipartSegment(apiKey, image, ['the star'], {}, { prefer: 'respond-async' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('HIT');
  });
});

describe('Idempotency-Key', () => {
  it('same key and body -> the same response, computed and billed once', async () => {
    const { apiKey: key } = await seedKey();
    const image = base64(uniqueImage());
    const calls = fake.computed;
    const first = await jsonSegment(key, { image, text: ['the circle', 'the star'] }, { 'idempotency-key': 'order-1' });
    const firstBody = await first.text();
    expect(first.status).toBe(200);
    const second = await jsonSegment(key, { image, text: ['the circle', 'the star'] }, { 'idempotency-key': 'order-1' });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect(await second.text()).toBe(firstBody);
    expect(fake.computed).toBe(calls + 1);
    const report = (await (await get('/v1/usage', key)).json()) as { totals: unknown };
    expect(report.totals).toEqual({ requests: 1, billable: 2, cached: 0 });
  });

  it('an answer too large to keep is still answered whole; its retry runs again instead of replaying', async () => {
    const { apiKey: key } = await seedKey();
    const image = base64(uniqueImage());
    fake.pngMaskBytes = MAX_REPLAY_BYTES + 1000;
    try {
      const body = { image, text: 'the circle', format: 'png' };
      const first = await jsonSegment(key, body, { 'idempotency-key': 'big-1' });
      expect(first.status).toBe(200);
      const answer = (await first.json()) as { results: { mask: { data: string } }[] };
      expect(answer.results[0].mask.data.length).toBeGreaterThan((MAX_REPLAY_BYTES * 4) / 3);
      const retry = await jsonSegment(key, body, { 'idempotency-key': 'big-1' });
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect(((await retry.json()) as typeof answer).results[0].mask.data).toBe(answer.results[0].mask.data);
    } finally {
      fake.pngMaskBytes = null;
    }
  });

  it('same key, different body -> 409 idempotency_conflict', async () => {
    const image = base64(uniqueImage());
    expect((await jsonSegment(apiKey, { image, text: 'the circle' }, { 'idempotency-key': 'order-2' })).status).toBe(200);
    await expectError(await jsonSegment(apiKey, { image, text: 'the square' }, { 'idempotency-key': 'order-2' }), 409, 'idempotency_conflict');
  });

  it('the same key while the first request is still running -> 409 with Retry-After', async () => {
    const image = base64(uniqueImage());
    let release!: () => void;
    fake.gate = new Promise((resolve) => (release = resolve));
    const calls = fake.gpuCalls.length;
    try {
      const first = jsonSegment(apiKey, { image, text: 'slow' }, { 'idempotency-key': 'order-4' });
      await until(async () => (fake.gpuCalls.length > calls ? true : null));
      const second = await jsonSegment(apiKey, { image, text: 'slow' }, { 'idempotency-key': 'order-4' });
      expect(second.headers.get('retry-after')).toBe('1');
      await expectError(second, 409, 'idempotency_conflict');
      release();
      expect((await first).status).toBe(200);
    } finally {
      fake.gate = null;
      release();
    }
  });

  it('keys are per API key: another key may use the same Idempotency-Key', async () => {
    const { apiKey: other } = await seedKey();
    const image = base64(uniqueImage());
    expect((await jsonSegment(apiKey, { image, text: 'a' }, { 'idempotency-key': 'shared' })).status).toBe(200);
    const res = await jsonSegment(other, { image, text: 'b' }, { 'idempotency-key': 'shared' });
    expect(res.status).toBe(200);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
  });

  it('a failure worth retrying (503) is not stored: the retry runs again', async () => {
    const image = base64(uniqueImage());
    fake.setAll('unavailable');
    try {
      await expectError(await jsonSegment(apiKey, { image, text: 'x' }, { 'idempotency-key': 'order-3' }), 503, 'unavailable');
    } finally {
      fake.setAll('ok');
    }
    const retry = await jsonSegment(apiKey, { image, text: 'x' }, { 'idempotency-key': 'order-3' });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });
});
