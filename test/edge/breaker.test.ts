/**
 * The breaker opens on the service's failures, not on one tenant's slow requests (the rule is in
 * functions/src/forward/breaker.ts): a heavy key's requests that time out at the edge are settled
 * by a /readyz probe that answers, so a light key keeps being served; the service's own 504
 * (deadline) and 429 (overloaded) are answers, not failures; a frozen service (no answer, no
 * /readyz) opens it after one timeout plus one probe; half-open probes /readyz before letting a
 * request through.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { expectError, get, multipartSegment, seedKey, uniqueImage } from './harness.js';

// test/edge/vitest.config.ts: GPU_TIMEOUT_MS 2000, BREAKER_FAILURES 3, BREAKER_COOLDOWN_S 1, BREAKER_PROBE_TIMEOUT_MS 300.
const GPU_TIMEOUT_MS = 2000;
let fake: FakeUpstream;

beforeAll(() => {
  fake = installFakeUpstream();
});

afterEach(() => {
  fake.setAll('ok');
  fake.heavy = null;
});

async function breakerState(): Promise<string> {
  return ((await (await get('/healthz')).json()) as { breaker: { state: string } }).breaker.state;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('circuit breaker', () => {
  it("a heavy key's timeouts do not open it: the light key is served throughout", async () => {
    const [{ apiKey: heavy }, { apiKey: light }] = await Promise.all([seedKey(), seedKey()]);
    fake.heavy = /^HEAVY/;
    const probes = fake.readyProbes;
    const heavyAnswers = Promise.all(Array.from({ length: 5 }, () => multipartSegment(heavy, uniqueImage(), ['HEAVY 40 MP x 16'])));
    const lightStatuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      lightStatuses.push((await multipartSegment(light, uniqueImage(), ['the small circle'])).status);
      await sleep(200);
    }
    for (const res of await heavyAnswers) {
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(res, 504, 'timeout');
    }
    await sleep(600); // the probes (300 ms at most) have answered
    expect(fake.readyProbes).toBe(probes + 5);
    expect(await breakerState()).toBe('closed');
    lightStatuses.push((await multipartSegment(light, uniqueImage(), ['the small circle'])).status);
    expect(lightStatuses).toEqual([200, 200, 200, 200, 200]);
  });

  it("the service's own 504 (deadline passed) and 429 (overloaded) are not failures", async () => {
    const { apiKey } = await seedKey();
    fake.setAll('deadline');
    for (let i = 0; i < 4; i++) {
      const res = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(res, 504, 'timeout');
    }
    fake.setAll('overloaded');
    for (let i = 0; i < 4; i++) await expectError(await multipartSegment(apiKey, uniqueImage(), ['the circle']), 429, 'overloaded');
    expect(await breakerState()).toBe('closed');
  });

  it('a frozen service opens it after one timeout and one failed /readyz probe; half-open probes before a request goes through', async () => {
    const { apiKey } = await seedKey();
    fake.setAll('hang');
    const started = Date.now();
    await expectError(await multipartSegment(apiKey, uniqueImage(), ['the circle']), 504, 'timeout');
    while ((await breakerState()) !== 'open' && Date.now() - started < GPU_TIMEOUT_MS + 3000) await sleep(50);
    const detectedMs = Date.now() - started;
    expect(await breakerState()).toBe('open');
    expect(detectedMs).toBeLessThan(GPU_TIMEOUT_MS + 1500); // one timeout + one probe, not 3 timeouts
    const calls = fake.attemptIds.length;
    const fast = Date.now();
    const refused = await multipartSegment(apiKey, uniqueImage(), ['the circle']);
    expect(Date.now() - fast).toBeLessThan(1000);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expectError(refused, 503, 'unavailable');
    expect(fake.attemptIds.length).toBe(calls); // not forwarded

    // Half-open while still frozen: the probe fails (300 ms), no request is forwarded, open again.
    await sleep(1100);
    const probes = fake.readyProbes;
    await expectError(await multipartSegment(apiKey, uniqueImage(), ['the circle']), 503, 'unavailable');
    expect(fake.readyProbes).toBe(probes + 1);
    expect(fake.attemptIds.length).toBe(calls);
    expect(await breakerState()).toBe('open');

    // Back: after the cooldown the probe answers, the breaker closes and the request is served.
    fake.setAll('ok');
    await sleep(1100);
    expect((await multipartSegment(apiKey, uniqueImage(), ['the circle'])).status).toBe(200);
    expect(await breakerState()).toBe('closed');
  });
});
