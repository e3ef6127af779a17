/**
 * Tenancy of the GPU tier through the real stack (s3rver, the GPU service on CPU, wrangler dev):
 * 20 identical concurrent misses make one computation and one bill; work past its deadline is
 * not stored (no free hit after a 504); a heavy tenant does not push a light tenant's requests
 * past their deadline.
 */
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultObjectKey } from '../../contract/segment.js';
import { edgeFetch } from '../helpers/edge-process.js';
import { edgeResultKey, segmentInit } from '../helpers/service-requests.js';
import { form, heavyRequests, largeImage, lightRequests, runLoad, segment, startTenantStack, type TenantStack } from '../helpers/tenant-load.js';

const GPU_TIMEOUT_MS = 10_000;
/** The deadline the edge gives the service (its timeout minus the 1.5 s margin). */
const LIGHT_DEADLINE_MS = GPU_TIMEOUT_MS - 1500;

let stack: TenantStack;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${stack.service.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

describe('tenancy of the GPU tier (real processes)', () => {
  beforeAll(async () => {
    stack = await startTenantStack({ basePort: 18410, gpuTimeoutMs: GPU_TIMEOUT_MS });
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('20 identical concurrent misses: one computation in the service, one bill', async () => {
    const image = await largeImage(1600, 1200, 7);
    const phrases = ['the red circle', 'the blue square', 'the green one', 'the left one'];
    const before = await metric('cris_computations_total');
    const responses = await Promise.all(Array.from({ length: 20 }, () => segment(stack.edge.origin, stack.keys.light, form(image, phrases))));
    const ids = new Set<string>();
    for (const response of responses) {
      const body = (await response.json()) as { id: string };
      expect(response.status, JSON.stringify(body)).toBe(200);
      ids.add(body.id);
    }
    expect(ids.size).toBe(1);
    expect((await metric('cris_computations_total')) - before).toBe(1);
    const usage = (await (await edgeFetch(`${stack.edge.origin}/v1/usage`, { headers: { authorization: `Bearer ${stack.keys.light}` } })).json()) as {
      totals: { requests: number; billable: number; cached: number };
    };
    expect(usage.totals).toEqual({ requests: 20, billable: phrases.length, cached: 19 * phrases.length });
  }, 120_000);

  it('work past its deadline is answered 504 and never stored (no free hit on the retry)', async () => {
    const image = new Uint8Array(await largeImage(2400, 1800, 11));
    const texts = Array.from({ length: 16 }, (_, i) => `late shape ${i}`);
    const key = await edgeResultKey(stack.model, image, texts);
    const init = await segmentInit({ image, texts, options: { format: 'polygon', resultKey: key } }, stack.service.secret, {}, '/v1/segment', {
      tenant: 'key_late',
      // The work (a 4.3 MP upload, 16 phrases, polygons) takes 170-270 ms on a quiet 2-core host
      // since the faster imaging (it was over 300 ms before): a deadline 80 ms out passes during it.
      deadlineMs: Date.now() + 80,
    });
    const response = await fetch(`${stack.service.url}/v1/segment`, init);
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('timeout');
    await new Promise((resolve) => setTimeout(resolve, 5000)); // past when it would have finished
    const s3 = new AwsClient({ accessKeyId: stack.s3.config.accessKeyId, secretAccessKey: stack.s3.config.secretAccessKey, region: stack.s3.config.region, service: 's3' });
    const stored = await s3.fetch(`${stack.s3.config.endpoint}/${stack.s3.config.bucket}/${resultObjectKey(stack.model, key)}`);
    expect(stored.status).toBe(404);
  }, 60_000);

  it('a heavy tenant (large images x 16 phrases, c=6) does not push the light tenant past its deadline', async () => {
    const heavy = runLoad(stack.edge.origin, stack.keys.heavy, 6, 8000, heavyRequests(await largeImage(2000, 1500, 3)));
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the heavy load is on
    const light = await runLoad(stack.edge.origin, stack.keys.light, 2, 6000, lightRequests());
    const heavyResult = await heavy;
    const sorted = [...light.latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))];
    console.log(`light: ${sorted.length} answers, p99 ${Math.round(p99)} ms, statuses ${JSON.stringify([...light.statuses])}; heavy statuses ${JSON.stringify([...heavyResult.statuses])}`);
    expect([...light.statuses.keys()]).toEqual([200]);
    expect(sorted.length).toBeGreaterThan(2);
    expect(p99).toBeLessThan(LIGHT_DEADLINE_MS);
  }, 120_000);
});
