import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeyMeter } from '../../functions/src/meter/key-meter.js';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { expectError, get, multipartSegment, seedKey, uniqueImage } from './harness.js';

let fake: FakeUpstream;

beforeAll(() => {
  fake = installFakeUpstream();
});

interface Usage {
  days: { date: string; requests: number; billable: number; cached: number }[];
  totals: { requests: number; billable: number; cached: number };
  quota: { limit: number; used: number; reserved: number; remaining: number };
}

async function usage(apiKey: string): Promise<Usage> {
  const res = await get('/v1/usage', apiKey);
  expect(res.status).toBe(200);
  return (await res.json()) as Usage;
}

describe('rate limit and quota', () => {
  it('429 rate_limited with Retry-After once the bucket is empty', async () => {
    const { apiKey } = await seedKey({ burst: 3, ratePerSecond: 0.01 });
    for (let i = 0; i < 3; i++) expect((await multipartSegment(apiKey, uniqueImage(), ['circle'])).status).toBe(200);
    const limited = await multipartSegment(apiKey, uniqueImage(), ['circle']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(limited, 429, 'rate_limited');
    expect((await usage(apiKey)).totals).toEqual({ requests: 3, billable: 3, cached: 0 });
  });

  it('rate-limits cache hits exactly like misses (the token is taken before a hit is answered)', async () => {
    const { apiKey } = await seedKey({ burst: 2, ratePerSecond: 0.01 });
    const image = uniqueImage();
    expect((await multipartSegment(apiKey, image, ['circle'])).headers.get('x-cache')).toBe('MISS');
    expect((await multipartSegment(apiKey, image, ['circle'])).headers.get('x-cache')).toBe('HIT');
    await expectError(await multipartSegment(apiKey, image, ['circle']), 429, 'rate_limited');
    expect((await usage(apiKey)).totals).toEqual({ requests: 2, billable: 1, cached: 1 });
  });

  it('429 quota_exceeded (a distinct code) once the month is used up; cache hits are not billed', async () => {
    const { apiKey } = await seedKey({ monthlyQuota: 3 });
    const image = uniqueImage();
    expect((await multipartSegment(apiKey, image, ['a', 'b'])).status).toBe(200);
    const over = await multipartSegment(apiKey, uniqueImage(), ['c', 'd']);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(over, 429, 'quota_exceeded');
    expect((await multipartSegment(apiKey, uniqueImage(), ['e'])).status).toBe(200);
    const report = await usage(apiKey);
    expect(report.quota).toEqual({ month: expect.any(String), limit: 3, used: 3, reserved: 0, remaining: 0 });
    expect(report.totals).toEqual({ requests: 2, billable: 3, cached: 0 });
  });
});

describe('coalesced answers of the GPU tier', () => {
  it('books an answer the service coalesced with an identical request as cached phrases, not billed, and frees the reservation', async () => {
    const { apiKey } = await seedKey({ monthlyQuota: 10 });
    fake.setAll('coalesced');
    try {
      const res = await multipartSegment(apiKey, uniqueImage(), ['a', 'b']);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('HIT');
      expect(((await res.json()) as { cached: boolean }).cached).toBe(true);
    } finally {
      fake.setAll('ok');
    }
    expect((await multipartSegment(apiKey, uniqueImage(), ['c'])).status).toBe(200);
    const report = await usage(apiKey);
    expect(report.totals).toEqual({ requests: 2, billable: 1, cached: 2 });
    expect(report.quota).toMatchObject({ used: 1, reserved: 0 });
  });
});

describe('usage ledger', () => {
  it('is exact with 200 concurrent requests on one key (misses billed per phrase, hits counted apart)', async () => {
    const { apiKey } = await seedKey();
    // 50 results computed first, so that 50 of the concurrent requests are cache hits.
    const warm = Array.from({ length: 50 }, () => uniqueImage());
    for (const image of warm) expect((await multipartSegment(apiKey, image, ['the star'])).status).toBe(200);
    const gpuPhrasesBefore = fake.gpuCalls.reduce((sum, call) => sum + call.phrases.length, 0);

    const misses = Array.from({ length: 150 }, () => multipartSegment(apiKey, uniqueImage(), ['the circle', 'the square']));
    const hits = warm.map((image) => multipartSegment(apiKey, image, ['The  star']));
    const responses = await Promise.all([...misses, ...hits]);
    expect(responses.map((res) => res.status)).toEqual(Array(200).fill(200));
    const caches = responses.map((res) => res.headers.get('x-cache'));
    expect(caches.filter((value) => value === 'MISS')).toHaveLength(150);
    expect(caches.filter((value) => value === 'HIT')).toHaveLength(50);

    const gpuPhrases = fake.gpuCalls.reduce((sum, call) => sum + call.phrases.length, 0) - gpuPhrasesBefore;
    expect(gpuPhrases).toBe(300);
    const report = await usage(apiKey);
    expect(report.totals).toEqual({ requests: 250, billable: 50 + 300, cached: 50 });
    expect(report.days).toHaveLength(1);
    expect(report.quota.used).toBe(350);
    expect(report.quota.reserved).toBe(0);
  });

  it('never overshoots the quota under concurrency: 100 requests, quota 60 -> exactly 60 answered', async () => {
    const { apiKey } = await seedKey({ monthlyQuota: 60 });
    const responses = await Promise.all(Array.from({ length: 100 }, () => multipartSegment(apiKey, uniqueImage(), ['the hexagon'])));
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(60);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40);
    const report = await usage(apiKey);
    expect(report.totals).toEqual({ requests: 60, billable: 60, cached: 0 });
    expect(report.quota.remaining).toBe(0);
  });

  it('bills nothing for failed requests and releases their reservation', async () => {
    const { apiKey } = await seedKey({ monthlyQuota: 1 });
    fake.setAll('reject-image');
    try {
      await expectError(await multipartSegment(apiKey, uniqueImage(), ['circle']), 422, 'invalid_image');
    } finally {
      fake.setAll('ok');
    }
    expect((await multipartSegment(apiKey, uniqueImage(), ['circle'])).status).toBe(200);
    expect((await usage(apiKey)).totals).toEqual({ requests: 1, billable: 1, cached: 0 });
  });

  it('commits cache-hit counts to storage within a second (they are kept in memory until then)', async () => {
    const { apiKey, record } = await seedKey();
    const image = uniqueImage();
    expect((await multipartSegment(apiKey, image, ['a', 'b'])).headers.get('x-cache')).toBe('MISS');
    expect((await multipartSegment(apiKey, image, ['a', 'b'])).headers.get('x-cache')).toBe('HIT');
    const namespace = (env as unknown as { KEY_METER: DurableObjectNamespace<KeyMeter> }).KEY_METER;
    const stub = namespace.get(namespace.idFromName(record.keyId));
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const rows = await runInDurableObject(stub, (_instance, state) => state.storage.sql.exec('SELECT requests, cached FROM hits').toArray());
    expect(rows).toEqual([{ requests: 1, cached: 2 }]);
    expect((await usage(apiKey)).totals).toEqual({ requests: 2, billable: 2, cached: 2 });
  });
});
