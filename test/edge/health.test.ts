/**
 * `GET /healthz` of the edge tells the truth about the GPU tier, as this isolate sees it: `ok`
 * while its circuit breaker is closed and the tier's last answer did not fail, `degraded` with
 * the breaker's state and the last answer otherwise; 200 both ways (cached results still flow).
 * Breaker settings of the suite: 3 failures open it, 1 s cooldown.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { get, multipartSegment, seedKey, uniqueImage } from './harness.js';

let fake: FakeUpstream;
let apiKey: string;

interface Health {
  status: string;
  breaker: { state: string; consecutive_failures: number; failures_to_open: number; open_until: string | null };
  gpu: { last_status: number | string | null; last_at: string | null };
}

async function health(): Promise<Health> {
  const res = await get('/healthz');
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return (await res.json()) as Health;
}

const recently = (iso: string | null) => iso !== null && Math.abs(Date.now() - Date.parse(iso)) < 10_000;

beforeAll(async () => {
  fake = installFakeUpstream();
  ({ apiKey } = await seedKey());
});

describe('GET /healthz', () => {
  it('ok with a closed breaker before any GPU call', async () => {
    expect(await health()).toEqual({
      status: 'ok',
      breaker: { state: 'closed', consecutive_failures: 0, failures_to_open: 3, open_until: null },
      gpu: { last_status: null, last_at: null },
    });
  });

  it('reports the GPU tier last answer: 200 after a miss, 422 (a client fault) still ok', async () => {
    expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(200);
    const afterMiss = await health();
    expect(afterMiss).toMatchObject({ status: 'ok', gpu: { last_status: 200 } });
    expect(recently(afterMiss.gpu.last_at)).toBe(true);
    fake.setAll('reject-image');
    try {
      expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(422);
    } finally {
      fake.setAll('ok');
    }
    expect(await health()).toMatchObject({ status: 'ok', breaker: { state: 'closed', consecutive_failures: 0 }, gpu: { last_status: 422 } });
  });

  it('degraded after a failed call while the breaker is still closed (503 from the service)', async () => {
    fake.setAll('unavailable');
    try {
      expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(503);
    } finally {
      fake.setAll('ok');
    }
    expect(await health()).toMatchObject({ status: 'degraded', breaker: { state: 'closed', consecutive_failures: 1 }, gpu: { last_status: 503 } });
  });

  it('degraded with the breaker open, then half-open after the cooldown, ok again after a good trial', async () => {
    fake.setAll('down');
    try {
      for (let i = 0; i < 3; i++) expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(503);
      const open = await health();
      expect(open).toMatchObject({ status: 'degraded', breaker: { state: 'open', consecutive_failures: 3 }, gpu: { last_status: 'unreachable' } });
      expect(Date.parse(open.breaker.open_until!)).toBeGreaterThan(Date.now());
      expect(recently(open.gpu.last_at)).toBe(true);
    } finally {
      fake.setAll('ok');
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await health()).toMatchObject({ status: 'degraded', breaker: { state: 'half-open' } });
    expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(200);
    expect(await health()).toMatchObject({ status: 'ok', breaker: { state: 'closed', consecutive_failures: 0, open_until: null }, gpu: { last_status: 200 } });
  });
});
