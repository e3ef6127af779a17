/**
 * Fair imaging threads, through the real GPU service (its own process, one imaging thread,
 * budgets wide open so a heavy key can queue a backlog): a heavy key floods large photos; a
 * light key's small requests, sent once the backlog is queued, are answered within their
 * deadline and long before the backlog drains. With the imaging jobs in arrival order (FIFO)
 * the light requests wait behind every large decode queued before them. Deadlines hold there
 * too: a request whose deadline passes while its imaging job waits is a 504, never decoded.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTestBundle, startService, type ServiceHandle } from '../helpers/service-process.js';
import { edgeResultKey, segmentInit } from '../helpers/service-requests.js';
import { samples } from '../helpers/stack.js';
import { largeImage } from '../helpers/tenant-load.js';

const HEAVY_REQUESTS = 30;
/** The light key's deadline, from when each request is sent. */
const LIGHT_DEADLINE_MS = 8000;

let service: ServiceHandle;
let model: string;

interface Answer {
  status: number;
  /** performance.now() when the answer was read. */
  doneAt: number;
  latency: number;
}

/** A signed request, built ahead (hashing and the multipart body of a large image take a while). */
async function signed(image: Uint8Array, texts: string[], tenant: string, deadlineMs: number): Promise<RequestInit> {
  const resultKey = await edgeResultKey(model, image, texts);
  return segmentInit({ image, texts, options: { format: 'rle', resultKey } }, service.secret, {}, '/v1/segment', { tenant, deadlineMs: Date.now() + deadlineMs });
}

async function send(init: RequestInit | Promise<RequestInit>): Promise<Answer> {
  const ready = await init;
  const sent = performance.now();
  const response = await fetch(`${service.url}/v1/segment`, ready);
  await response.arrayBuffer();
  const done = performance.now();
  return { status: response.status, doneAt: done, latency: done - sent };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** Waits until at least `jobs` imaging jobs are queued (the backlog is in place). */
async function imagingBacklog(jobs: number): Promise<void> {
  const until = Date.now() + 60_000;
  while ((await metric('cris_imaging_queue_depth')) < jobs) {
    if (Date.now() > until) throw new Error(`fewer than ${jobs} imaging jobs were ever queued`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('imaging threads are shared fairly between keys (real service process)', () => {
  beforeAll(async () => {
    const bundleDir = defaultTestBundle();
    const manifest = JSON.parse(readFileSync(`${bundleDir}/manifest.json`, 'utf8')) as { id: string; version: string };
    model = `${manifest.id}@${manifest.version}`;
    service = await startService({
      port: 18470,
      bundleDir,
      env: { CRIS_IMAGING_WORKERS: '1', CRIS_WORKERS: '1', CRIS_TENANT_COST_BUDGET: '100000', CRIS_GLOBAL_COST_BUDGET: '100000', CRIS_REQUEST_TIMEOUT_MS: '120000' },
      readyTimeoutMs: 120_000,
    });
  }, 150_000);

  afterAll(async () => {
    await service?.stop(5000);
  });

  it('a light key is answered within its deadline while a heavy key\'s backlog of large photos waits', async () => {
    const heavyImage = new Uint8Array(await largeImage(2400, 1800, 21)); // 4.3 MP, an 8 MB PNG (no shrink-on-load)
    const heavyInits = await Promise.all(Array.from({ length: HEAVY_REQUESTS }, (_, i) => signed(heavyImage, [`heavy shape ${i}`], 'key_heavy', 110_000)));
    const scene = samples()[0];
    const lightImage = new Uint8Array(readFileSync(scene.image));
    const heavy = heavyInits.map((init) => send(init));
    await imagingBacklog(HEAVY_REQUESTS / 2);
    const light: Answer[] = [];
    for (let i = 0; i < 3; i++) light.push(await send(signed(lightImage, [`${scene.phrase} ${i}`], 'key_light', LIGHT_DEADLINE_MS)));
    const heavyAnswers = await Promise.all(heavy);
    const lightDone = Math.max(...light.map((answer) => answer.doneAt));
    const heavyBefore = heavyAnswers.filter((answer) => answer.doneAt < lightDone).length;
    console.log(
      `light: ${light.map((a) => `${a.status} in ${Math.round(a.latency)} ms`).join(', ')}; heavy answered before the last light answer: ${heavyBefore} of ${HEAVY_REQUESTS}, the last ${Math.round(Math.max(...heavyAnswers.map((a) => a.doneAt)) - lightDone)} ms after it`,
    );
    expect(light.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(heavyAnswers.every((answer) => answer.status === 200)).toBe(true);
    for (const answer of light) expect(answer.latency).toBeLessThan(LIGHT_DEADLINE_MS);
    // The three light requests were answered while most of the heavy backlog still waited.
    expect(heavyBefore).toBeLessThan(HEAVY_REQUESTS / 2);
  }, 150_000);

  it('a request whose deadline passes while its imaging job waits is answered 504, and its image is never decoded', async () => {
    const heavyImage = new Uint8Array(await largeImage(2400, 1800, 22));
    const heavyInits = await Promise.all(Array.from({ length: 20 }, (_, i) => signed(heavyImage, [`backlog ${i}`], 'key_heavy', 110_000)));
    const scene = samples()[0];
    const heavy = heavyInits.map((init) => send(init));
    await imagingBacklog(15);
    const droppedBefore = await metric('cris_dropped_requests_total');
    // The backlog's own tenant (FIFO within a key): this small job waits behind 15 large decodes
    // (at least 60 ms each even on a quiet core, so 0.9 s or more), past its 0.4 s.
    const late = await send(signed(new Uint8Array(readFileSync(scene.image)), ['too late'], 'key_heavy', 400));
    expect(late.status).toBe(504);
    await Promise.all(heavy);
    expect((await metric('cris_dropped_requests_total')) - droppedBefore).toBe(1);
  }, 150_000);
});
