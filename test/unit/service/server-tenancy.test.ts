/**
 * Tenancy in the service's HTTP app over fakes: deadlines (a request past its signed deadline is
 * answered 504 and never stored), coalescing of identical concurrent requests of one tenant,
 * admission by cost per tenant and in all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CostBudget } from '../../../gpu-service/src/admission/cost-budget.js';
import { Coalescer } from '../../../gpu-service/src/server/coalescer.js';
import { IMAGE, SECRET, drainHarnesses, hold, expectError, harness, post, type Harness } from '../../helpers/service-app.js';
import { segmentInit, type SignOverrides } from '../../helpers/service-requests.js';

afterEach(drainHarnesses);


const send = async (h: Harness, sign: SignOverrides, texts = ['a star'], image = IMAGE) =>
  post(h, await segmentInit({ image, texts }, SECRET, {}, '/v1/segment', sign));

const metric = async (h: Harness, name: string) => {
  const text = await (await h.app.request('/metrics')).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
};

describe('deadlines', () => {
  it('answers 504 at once when the signed deadline has passed, runs and stores nothing', async () => {
    const h = harness();
    const response = await send(h, { deadlineMs: Date.now() - 1 });
    await expectError(response, 504, 'timeout');
    expect(response.headers.get('retry-after')).toBe('1');
    expect(h.runner.encodeCalls).toEqual([]);
    expect(h.stored).toEqual([]);
  });

  it('drops a request whose deadline passes while it runs: 504, and its late result is not stored', async () => {
    const h = harness();
    const release = hold(h);
    const late = send(h, { deadlineMs: Date.now() + 300 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    release();
    await expectError(await late, 504, 'timeout');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.stored).toEqual([]);
    // the retry with a fresh deadline computes it (and only then is it stored)
    expect((await send(h, {})).status).toBe(200);
    expect(h.stored).toHaveLength(1);
  });
});

describe('coalescing identical concurrent requests', () => {
  it('runs one computation for 5 identical requests of a tenant; the followers are marked', async () => {
    const h = harness();
    const release = hold(h);
    const answers = Array.from({ length: 5 }, () => send(h, { tenant: 'key_A' }));
    const other = send(h, { tenant: 'key_B' }); // same body, another tenant: its own computation
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const responses = await Promise.all(answers);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(responses.filter((response) => response.headers.get('x-cris-coalesced') === '1')).toHaveLength(4);
    const bodies = await Promise.all(responses.map((response) => response.json()));
    expect(new Set(bodies.map((body) => JSON.stringify(body))).size).toBe(1);
    const otherResponse = await other;
    expect(otherResponse.status).toBe(200);
    expect(otherResponse.headers.get('x-cris-coalesced')).toBeNull();
    expect(await metric(h, 'cris_computations_total')).toBe(2);
    expect(await metric(h, 'cris_coalesced_requests_total')).toBe(4);
    expect(h.stored).toHaveLength(2);
  });

  it('lets a follower compute in the leader\'s place when the leader\'s deadline passes', async () => {
    const h = harness();
    const release = hold(h);
    const leader = send(h, { tenant: 'key_A', deadlineMs: Date.now() + 200 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const follower = send(h, { tenant: 'key_A', deadlineMs: Date.now() + 5000 });
    await new Promise((resolve) => setTimeout(resolve, 400));
    release();
    await expectError(await leader, 504, 'timeout');
    const answer = await follower;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cris-coalesced')).toBeNull();
    expect(h.stored).toHaveLength(1);
  });
});

describe('admission by cost', () => {
  it('refuses a tenant past its budget and everyone past the global one with 429 + Retry-After', async () => {
    // the fake images have no readable header: each counts as the largest image, 40 units a phrase
    const h = harness({ admission: { budget: new CostBudget({ perTenant: 50, global: 100 }), coalescer: new Coalescer() } });
    const release = hold(h);
    const first = send(h, { tenant: 'key_A' }, ['one'], new Uint8Array([1]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const overTenant = await send(h, { tenant: 'key_A' }, ['two'], new Uint8Array([2]));
    await expectError(overTenant, 429, 'overloaded');
    expect(overTenant.headers.get('retry-after')).toBe('1');
    const otherTenant = send(h, { tenant: 'key_B' }, ['three'], new Uint8Array([3]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expectError(await send(h, { tenant: 'key_C' }, ['four'], new Uint8Array([4])), 429, 'overloaded');
    release();
    expect((await first).status).toBe(200);
    expect((await otherTenant).status).toBe(200);
    // released once answered
    expect((await send(h, { tenant: 'key_A' }, ['five'], new Uint8Array([5]))).status).toBe(200);
  });
});
