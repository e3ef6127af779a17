/**
 * No hangs: every outbound call of the edge has a timeout and a clear error with Retry-After.
 * A stalled S3 (accepts, never answers) costs a miss at most the S3 timeout (then lookups are
 * skipped for a while) and GET /v1/results/{id} answers 504/503 with Retry-After (the GPU call's
 * 504 and its Retry-After: errors.test.ts and breaker.test.ts).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tenantResultKey } from '../../contract/result-key.js';
import { timedMethods, withTimeout } from '../../functions/src/http/timeout.js';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { expectError, get, multipartSegment, seedKey, uniqueImage } from './harness.js';

// test/edge/vitest.config.ts: S3_TIMEOUT_MS 500, S3_SKIP_S 2.
const S3_TIMEOUT_MS = 500;
let fake: FakeUpstream;
let apiKey: string;

beforeAll(async () => {
  fake = installFakeUpstream();
  ({ apiKey } = await seedKey());
});

afterEach(() => {
  fake.s3Stalled = false;
});

describe('timeouts', () => {
  it('withTimeout and timedMethods give up on a call that never answers, with 504 timeout + Retry-After', async () => {
    const never = new Promise<number>(() => {});
    await expect(withTimeout(never, 30, 'The thing')).rejects.toMatchObject({ code: 'timeout', status: 504, retryAfterSeconds: 2 });
    expect(await withTimeout(Promise.resolve(7), 30, 'The thing')).toBe(7);
    const stub = { stalls: () => never, answers: async (x: number) => x + 1, value: 3 };
    const timed = timedMethods(stub, 30, 'The usage meter');
    await expect(timed.stalls()).rejects.toMatchObject({ code: 'timeout', message: expect.stringContaining('The usage meter') });
    expect(await timed.answers(1)).toBe(2);
    expect(timed.value).toBe(3);
    expect((timed as unknown as { then?: unknown }).then).toBeUndefined(); // not a thenable
  });

  it('a stalled S3: misses are answered (computed) within the S3 timeout, later misses skip S3 at once', async () => {
    fake.s3Stalled = true;
    const started = Date.now();
    const first = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
    const firstMs = Date.now() - started;
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(firstMs).toBeGreaterThanOrEqual(S3_TIMEOUT_MS - 50);
    expect(firstMs).toBeLessThan(S3_TIMEOUT_MS + 1500);
    const again = Date.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => multipartSegment(apiKey, uniqueImage(), ['the square'])));
    expect(answers.map((res) => res.status)).toEqual(Array(5).fill(200));
    expect(Date.now() - again).toBeLessThan(S3_TIMEOUT_MS); // skipped, not waited for
  });

  it('a stalled S3: GET /v1/results/{id} is a clean 504, then 503 while lookups are skipped, both with Retry-After', async () => {
    const { apiKey: key, record } = await seedKey();
    const id = (await multipartSegment(key, uniqueImage(), ['the star'])).headers.get('x-result-id')!;
    await new Promise((resolve) => setTimeout(resolve, 2100)); // the skip window of the test above has passed
    fake.s3Stalled = true;
    expect((await get(`/v1/results/${id}`, key)).status).toBe(200); // in the edge cache: S3 not needed
    const started = Date.now();
    const lookup = await get(`/v1/results/${await neverStoredId(record.keyId)}`, key);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(S3_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(S3_TIMEOUT_MS + 1500);
    expect(Number(lookup.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(lookup, 504, 'timeout');
    const skippedAt = Date.now();
    const skipped = await get(`/v1/results/${await neverStoredId(record.keyId)}`, key);
    expect(Date.now() - skippedAt).toBeLessThan(S3_TIMEOUT_MS);
    expect(Number(skipped.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(skipped, 503, 'unavailable');
  });
});

/** An id of the key's own that nothing was ever stored under. */
function neverStoredId(keyId: string): Promise<string> {
  return tenantResultKey(keyId, { model: 'cris-shapes-s@1.0.0', imageSha256: crypto.randomUUID(), phrases: ['x'], options: { format: 'polygon' } });
}
