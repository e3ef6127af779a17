/**
 * Tenant data: a result belongs to the key that paid for it. Another key's result id is 404 on
 * GET /v1/results/{id}; another key asking the same image and phrase is its own MISS, computed
 * and billed for it. Reads (results, usage) take a token of the key's read bucket and are counted.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { isOwnedBy, tenantResultKey } from '../../contract/result-key.js';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { expectError, get, multipartSegment, seedKey, uniqueImage } from './harness.js';

let fake: FakeUpstream;

beforeAll(() => {
  fake = installFakeUpstream();
});

interface UsageReport {
  totals: { requests: number; billable: number; cached: number };
  reads: number;
}

describe('results are scoped to the key that paid for them', () => {
  it('result ids are bound to their key id', async () => {
    const input = { model: 'm@1', imageSha256: 'a'.repeat(64), phrases: ['the circle'], options: { format: 'polygon' as const } };
    const a = await tenantResultKey('key_A', input);
    const b = await tenantResultKey('key_B', input);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(await tenantResultKey('key_A', { ...input, phrases: ['The  Circle'] })).toBe(a);
    expect([await isOwnedBy(a, 'key_A'), await isOwnedBy(a, 'key_B'), await isOwnedBy(b, 'key_B')]).toEqual([true, false, true]);
    // a forged id with A's content part and any other tag is nobody's
    expect(await isOwnedBy(a.slice(0, 48) + '0'.repeat(16), 'key_A')).toBe(a.endsWith('0'.repeat(16)));
  });

  it("another key's result id is 404; the owner reads it", async () => {
    const [{ apiKey: keyA }, { apiKey: keyB }] = await Promise.all([seedKey(), seedKey()]);
    const res = await multipartSegment(keyA, uniqueImage(), ['the secret phrase of A']);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-result-id')!;
    expect((await get(`/v1/results/${id}`, keyA)).status).toBe(200);
    const s3Gets = fake.s3Gets;
    const stolen = await get(`/v1/results/${id}`, keyB);
    const body = await stolen.clone().text();
    await expectError(stolen, 404, 'not_found');
    expect(body).not.toContain('secret phrase');
    expect(fake.s3Gets).toBe(s3Gets); // refused from the id alone, no lookup
  });

  it('the same image and phrase from key B is a MISS computed and billed for B, never A\'s hit', async () => {
    const [{ apiKey: keyA }, { apiKey: keyB }] = await Promise.all([seedKey(), seedKey()]);
    const image = uniqueImage();
    const first = await multipartSegment(keyA, image, ['the red circle']);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect((await multipartSegment(keyA, image, ['the red circle'])).headers.get('x-cache')).toBe('HIT');
    const calls = fake.computed;
    const fromB = await multipartSegment(keyB, image, ['the red circle']);
    expect(fromB.status).toBe(200);
    expect(fromB.headers.get('x-cache')).toBe('MISS');
    expect(fromB.headers.get('x-result-id')).not.toBe(first.headers.get('x-result-id'));
    expect(((await fromB.json()) as { cached: boolean }).cached).toBe(false);
    expect(fake.computed).toBe(calls + 1);
    const usageB = (await (await get('/v1/usage', keyB)).json()) as UsageReport;
    expect(usageB.totals).toEqual({ requests: 1, billable: 1, cached: 0 });
    const usageA = (await (await get('/v1/usage', keyA)).json()) as UsageReport;
    expect(usageA.totals).toEqual({ requests: 2, billable: 1, cached: 1 });
  });
});

describe('reads are metered', () => {
  it('GET /v1/results and /v1/usage take read tokens (429 + Retry-After when spent), are counted, cost no quota', async () => {
    const { apiKey } = await seedKey({ burst: 4, ratePerSecond: 0.01, monthlyQuota: 1 });
    const res = await multipartSegment(apiKey, uniqueImage(), ['the square']);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-result-id')!;
    expect((await get(`/v1/results/${id}`, apiKey)).status).toBe(200);
    await expectError(await get(`/v1/results/${'1'.repeat(64)}`, apiKey), 404, 'not_found'); // a miss costs a token too
    const usage = await get('/v1/usage', apiKey);
    expect(usage.status).toBe(200);
    const report = (await usage.json()) as UsageReport & { quota: { used: number } };
    expect(report.reads).toBe(3); // this one included
    expect(report.totals).toEqual({ requests: 1, billable: 1, cached: 0 });
    expect(report.quota.used).toBe(1);
    expect((await get(`/v1/results/${id}`, apiKey)).status).toBe(200); // the 4th token
    const s3Gets = fake.s3Gets;
    const limited = await get(`/v1/results/${'2'.repeat(64)}`, apiKey);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(limited, 429, 'rate_limited');
    await expectError(await get('/v1/usage', apiKey), 429, 'rate_limited');
    expect(fake.s3Gets).toBe(s3Gets);
  });
});
