/**
 * A client that disconnects before the answer is not billed: its request's signal aborts the
 * edge's call to the GPU tier at once (not at the GPU timeout) and the quota reservation is
 * released; nothing is booked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { installFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { get, ORIGIN, seedKey, uniqueImage, worker } from './harness.js';

let fake: FakeUpstream;

beforeAll(() => {
  fake = installFakeUpstream();
});

describe('client disconnect', () => {
  it('aborts the GPU call and releases the reservation; nothing is billed', async () => {
    const { apiKey } = await seedKey();
    fake.setAll('slow');
    const attempts = fake.attemptIds.length;
    const aborted = fake.aborted;
    const client = new AbortController();
    const form = new FormData();
    form.append('image', new Blob([uniqueImage()], { type: 'image/png' }), 'scene.png');
    form.append('text', 'the circle');
    const pending = worker.fetch(`${ORIGIN}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form, signal: client.signal }).catch((error: Error) => error);
    try {
      while (fake.attemptIds.length === attempts) await new Promise((resolve) => setTimeout(resolve, 10));
      const reserved = (await (await get('/v1/usage', apiKey)).json()) as { quota: { reserved: number } };
      expect(reserved.quota.reserved).toBe(1);
      const abortedAt = Date.now();
      client.abort();
      await pending;
      while (fake.aborted === aborted && Date.now() - abortedAt < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(fake.aborted).toBe(aborted + 1);
      expect(Date.now() - abortedAt).toBeLessThan(1500); // the GPU timeout is 2000 ms in this suite
    } finally {
      fake.setAll('ok');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const report = (await (await get('/v1/usage', apiKey)).json()) as { totals: unknown; quota: { reserved: number; used: number } };
    expect(report.quota).toMatchObject({ reserved: 0, used: 0 });
    expect(report.totals).toEqual({ requests: 0, billable: 0, cached: 0 });
  });
});
