import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { SegmentResultSchema } from '../../../contract/segment.js';
import { LIMITS } from '../../../contract/limits.js';
import { edgeResultKey, segmentInit, signedHeaders } from '../../helpers/service-requests.js';
import { IMAGE, MODEL, SECRET, drainHarnesses, expectError, harness, post } from '../../helpers/service-app.js';

afterEach(drainHarnesses);

describe('POST /v1/segment', () => {
  it('answers a signed request with a contract SegmentResult and stores it under the edge key', async () => {
    const h = harness();
    const resultKey = await edgeResultKey(MODEL, IMAGE, ['the red circle', 'blue one']);
    const response = await post(h, await segmentInit({ image: IMAGE, texts: ['the red circle', ' blue one '], options: { format: 'polygon', resultKey } }, SECRET));
    expect(response.status).toBe(200);
    const result = SegmentResultSchema.parse(await response.json());
    expect(result.id).toBe(resultKey);
    expect(result.model).toBe(MODEL);
    expect(result.cached).toBe(false);
    expect([result.width, result.height]).toEqual([640, 480]);
    expect(result.results.map((r) => r.text)).toEqual(['the red circle', 'blue one']);
    // fake logits: image pixel (1) + first token (phrase length)
    expect(result.results.map((r) => r.score)).toEqual([15, 9]);
    expect(result.timing.total_ms).toBeGreaterThanOrEqual(0);
    expect(h.runner.encodeCalls).toEqual([1]);
    expect(h.stored).toEqual([{ model: MODEL, key: resultKey, pngs: undefined }]);
  });

  it('derives the result key with the contract function when the edge sent none', async () => {
    const h = harness();
    const response = await post(h, await segmentInit({ image: IMAGE, texts: ['a star'] }, SECRET));
    expect(response.status).toBe(200);
    const result = (await response.json()) as { id: string };
    expect(result.id).toBe(await edgeResultKey(MODEL, IMAGE, ['a star']));
  });

  it('returns the mask PNG for Accept: image/png with one phrase, and stores it', async () => {
    const h = harness();
    const response = await post(h, await segmentInit({ image: IMAGE, texts: ['a star'] }, SECRET, { accept: 'image/png' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer()).toString()).toBe('png:7');
    expect(h.stored[0].pngs?.map((png) => Buffer.from(png).toString())).toEqual(['png:7']);
  });

  it('refuses unsigned, wrongly signed, expired and tampered requests with 401 invalid_signature', async () => {
    const h = harness();
    const fields = { image: IMAGE, texts: ['a star'] };
    await expectError(await post(h, await segmentInit(fields, undefined)), 401, 'invalid_signature');
    await expectError(await post(h, await segmentInit(fields, 'another-secret-0123456789')), 401, 'invalid_signature');
    const init = await segmentInit(fields, SECRET);
    const old = await signedHeaders(SECRET, init.body, { nowSeconds: Math.floor(Date.now() / 1000) - 3600 });
    await expectError(await post(h, { ...init, headers: { ...(init.headers as Record<string, string>), ...old } }), 401, 'invalid_signature');
    const tampered = new Uint8Array(init.body);
    tampered[tampered.length - 10] ^= 1;
    await expectError(await post(h, { ...init, body: tampered }), 401, 'invalid_signature');
    await expectError(await h.app.request('http://service.local/v1/segment/', init), 404, 'not_found');
    expect(h.runner.encodeCalls).toEqual([]);
  });

  it('refuses a replayed signature (the same request id) with 401 replayed_request, and runs it once', async () => {
    const h = harness();
    const init = await segmentInit({ image: IMAGE, texts: ['a star'] }, SECRET);
    expect((await post(h, init)).status).toBe(200);
    await expectError(await post(h, init), 401, 'replayed_request');
    // a new signature of the same body is a new request
    const again = await signedHeaders(SECRET, init.body);
    expect((await post(h, { ...init, headers: { ...(init.headers as Record<string, string>), ...again } })).status).toBe(200);
    expect(h.stored).toHaveLength(2);
  });

  it('answers each bad input with its 4xx error', async () => {
    const h = harness();
    const cases: [Parameters<typeof segmentInit>[0], number, string][] = [
      [{ texts: ['a star'] }, 400, 'missing_image'],
      [{ image: IMAGE, texts: [] }, 422, 'invalid_text'],
      [{ image: IMAGE, texts: ['   '] }, 422, 'invalid_text'],
      [{ image: IMAGE, texts: ['x'.repeat(LIMITS.maxPhraseChars + 1)] }, 422, 'invalid_text'],
      [{ image: IMAGE, texts: Array.from({ length: LIMITS.maxPhrases + 1 }, (_, i) => `star ${i}`) }, 422, 'too_many_phrases'],
      [{ image: IMAGE, texts: ['a star'], options: { format: 'svg' } }, 422, 'invalid_options'],
      [{ image: IMAGE, texts: ['a star'], options: { resultKey: 'not-a-key' } }, 422, 'invalid_options'],
      [{ image: new Uint8Array([0xff, 0xd8]), texts: ['a star'] }, 422, 'invalid_image'],
    ];
    for (const [fields, status, code] of cases) {
      await expectError(await post(h, await segmentInit(fields, SECRET)), status, code);
    }
    const max = harness({ maxBodyBytes: 1000 });
    await expectError(await post(max, await segmentInit({ image: new Uint8Array(2000).fill(1), texts: ['a'] }, SECRET)), 413, 'payload_too_large');
    const json = new TextEncoder().encode('{"text":"a"}');
    const signed = await signedHeaders(SECRET, json);
    await expectError(await post(h, { method: 'POST', body: json, headers: { 'content-type': 'application/json', ...signed } }), 415, 'unsupported_media_type');
    const garbage = new TextEncoder().encode('--x\r\nnot really multipart');
    const signedGarbage = await signedHeaders(SECRET, garbage);
    await expectError(await post(h, { method: 'POST', body: garbage, headers: { 'content-type': 'multipart/form-data; boundary=y', ...signedGarbage } }), 400, 'bad_request');
  });

  it('maps an unexpected failure to 500 internal without leaking its message', async () => {
    const h = harness();
    const response = await post(h, await segmentInit({ image: IMAGE, texts: ['explode'] }, SECRET));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('passwd');
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
    // an unknown decoder failure is the client's bad image, and its detail is not echoed either
    const decode = await post(h, await segmentInit({ image: new Uint8Array([0xfe]), texts: ['a star'] }, SECRET));
    expect(decode.status).toBe(422);
    expect(await decode.text()).not.toContain('passwd');
  });

  it('answers 429 overloaded with Retry-After at once when the queue is full', async () => {
    const h = harness({ maxQueueSize: 1 });
    let release!: () => void;
    h.runner.gate = new Promise((resolve) => (release = resolve));
    const running = post(h, await segmentInit({ image: new Uint8Array([1]), texts: ['a'] }, SECRET));
    await new Promise((resolve) => setTimeout(resolve, 20)); // first batch taken, runner held
    const queued = post(h, await segmentInit({ image: new Uint8Array([2]), texts: ['b'] }, SECRET));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await post(h, await segmentInit({ image: new Uint8Array([3]), texts: ['c'] }, SECRET));
    expect(refused.headers.get('retry-after')).toBe('1');
    await expectError(refused, 429, 'overloaded');
    release();
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
  });

  it('answers 503 before warm-up', async () => {
    const h = harness({ ready: false });
    await expectError(await post(h, await segmentInit({ image: IMAGE, texts: ['a'] }, SECRET)), 503, 'unavailable');
  });
});

describe('probes and metrics', () => {
  it('healthz reports the state; readyz is 503 until ready and while draining', async () => {
    const h = harness({ ready: false });
    expect(await (await h.app.request('/healthz')).json()).toMatchObject({ state: 'starting' });
    await expectError(await h.app.request('/readyz'), 503, 'unavailable');
    h.state.markReady();
    expect((await h.app.request('/readyz')).status).toBe(200);
    expect(await (await h.app.request('/healthz')).json()).toMatchObject({ state: 'ready' });
    h.state.markDraining();
    expect((await h.app.request('/healthz')).status).toBe(200);
    await expectError(await h.app.request('/readyz'), 503, 'unavailable');
    h.state.markFailed('worker died');
    expect(await (await h.app.request('/healthz')).json()).toMatchObject({ state: 'failed' });
  });

  it('exports request, error and queue metrics from its own registry', async () => {
    const h = harness();
    await post(h, await segmentInit({ image: IMAGE, texts: ['a'] }, SECRET));
    await post(h, await segmentInit({ image: IMAGE, texts: ['a'] }, undefined));
    const response = await h.app.request('/metrics');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/cris_requests_total\{route="\/v1\/segment",status="200"\} 1/);
    expect(text).toMatch(/cris_errors_total\{code="invalid_signature"\} 1/);
    expect(text).toContain('cris_queue_depth 0');
    for (const name of ['cris_batch_size', 'cris_inference_seconds', 'cris_feature_cache_hits_total', 'cris_feature_cache_misses_total', 'cris_s3_write_failures_total']) {
      expect(text).toContain(name);
    }
  });

  it('serves the model summary', async () => {
    const h = harness();
    expect(await (await h.app.request('/v1/models')).json()).toEqual({ models: [{ model: MODEL }] });
  });
});
