import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { DynamicBatcher } from '../../../gpu-service/src/batcher/dynamic-batcher.js';
import { BatchScheduler, type ScheduledResult } from '../../../gpu-service/src/batcher/scheduler.js';
import { postprocessItem, runInference } from '../../../gpu-service/src/pipeline/batch-executor.js';
import { FeatureCache } from '../../../gpu-service/src/pipeline/feature-cache.js';
import { InProcessBackend } from '../../../gpu-service/src/pipeline/in-process-backend.js';
import type { BatchItemInput } from '../../../gpu-service/src/core/jobs.js';
import { FakeRunner, fakeEncodeMask, fakeItem, fakePostprocess, fakePostprocessInput, rowScores } from '../../helpers/service-fakes.js';

const settled = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('DynamicBatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('hands out a full batch at once, capped at maxBatch rows', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 4, maxQueueDelayMs: 50, maxQueueSize: 100 });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) void batcher.append(name, 1).catch(() => {});
    const first = await batcher.nextBatch();
    expect(first!.map((request) => request.payload)).toEqual(['a', 'b', 'c', 'd']);
    expect(batcher.depth).toBe(2);
  });

  it('counts rows: a 3-phrase request and a 2-phrase request do not share a batch of 4', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 4, maxQueueDelayMs: 0, maxQueueSize: 100 });
    void batcher.append('three', 3);
    void batcher.append('two', 2);
    expect((await batcher.nextBatch())!.map((r) => r.payload)).toEqual(['three']);
    expect((await batcher.nextBatch())!.map((r) => r.payload)).toEqual(['two']);
  });

  it('flushes a partial batch once the oldest request has waited maxQueueDelayMs', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 8, maxQueueDelayMs: 10, maxQueueSize: 100 });
    void batcher.append('a', 1);
    let batch: unknown = undefined;
    void batcher.nextBatch().then((value) => (batch = value));
    vi.advanceTimersByTime(5);
    void batcher.append('b', 1);
    vi.advanceTimersByTime(4);
    await settled();
    expect(batch).toBeUndefined();
    vi.advanceTimersByTime(1);
    await settled();
    expect((batch as { payload: string }[]).map((r) => r.payload)).toEqual(['a', 'b']);
  });

  it('hands a request out at once when nothing is running (idle), and waits its delay while a batch runs', async () => {
    let running = 0;
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 8, maxQueueDelayMs: 10, maxQueueSize: 100, idle: () => running === 0 });
    void batcher.append('alone', 1);
    let first: unknown = undefined;
    void batcher.nextBatch().then((value) => (first = value));
    await settled();
    expect((first as { payload: string }[]).map((r) => r.payload)).toEqual(['alone']);
    running = 1; // the first batch is on the accelerator: the next request waits for company
    void batcher.append('b', 1);
    let second: unknown = undefined;
    void batcher.nextBatch().then((value) => (second = value));
    vi.advanceTimersByTime(5);
    void batcher.append('c', 1);
    await settled();
    expect(second).toBeUndefined();
    vi.advanceTimersByTime(5);
    await settled();
    expect((second as { payload: string }[]).map((r) => r.payload)).toEqual(['b', 'c']);
  });

  it('refuses at once with 429 overloaded and Retry-After when the queue is full', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 8, maxQueueDelayMs: 10, maxQueueSize: 2, retryAfterSeconds: 2 });
    void batcher.append('a', 1);
    void batcher.append('b', 1);
    const refused = await batcher.append('c', 1).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe('overloaded');
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).headers()).toEqual({ 'retry-after': '2' });
    expect(batcher.depth).toBe(2);
  });

  it('drops a request whose client has gone before it runs', async () => {
    let drops = 0;
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 8, maxQueueDelayMs: 10, maxQueueSize: 10, onDrop: () => drops++ });
    const gone = new AbortController();
    void batcher.append('kept-1', 1);
    const dropped = batcher.append('gone', 1, gone.signal).catch((error: unknown) => error);
    void batcher.append('kept-2', 1);
    gone.abort();
    expect(await dropped).toBeInstanceOf(ApiError);
    expect(batcher.depth).toBe(2);
    const pending = batcher.nextBatch();
    vi.advanceTimersByTime(10);
    expect((await pending)!.map((r) => r.payload)).toEqual(['kept-1', 'kept-2']);
    expect(batcher.dropped).toBe(1);
    expect(drops).toBe(1);
  });

  it('listens to the signal of a request only while it waits: one taken at once leaves none behind', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 8, maxQueueDelayMs: 10, maxQueueSize: 10, idle: () => true });
    const waiting = batcher.nextBatch();
    const taken = new AbortController();
    void batcher.append('taken', 1, taken.signal);
    expect((await waiting)!.map((r) => r.payload)).toEqual(['taken']);
    expect(getEventListeners(taken.signal, 'abort')).toHaveLength(0);
    const queued = new AbortController();
    const dropped = batcher.append('queued', 1, queued.signal).catch((error: unknown) => error);
    expect(getEventListeners(queued.signal, 'abort')).toHaveLength(1);
    queued.abort();
    expect(await dropped).toBeInstanceOf(ApiError);
    expect(batcher.depth).toBe(0);
  });

  it('refuses a request whose signal already fired, and hands out the rest then null after close', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 8, maxQueueDelayMs: 1000, maxQueueSize: 10 });
    await expect(batcher.append('late', 1, AbortSignal.abort())).rejects.toBeInstanceOf(ApiError);
    void batcher.append('queued', 1);
    batcher.close();
    await expect(batcher.append('after-close', 1)).rejects.toMatchObject({ code: 'unavailable' });
    expect((await batcher.nextBatch())!.map((r) => r.payload)).toEqual(['queued']);
    expect(await batcher.nextBatch()).toBeNull();
  });
});

describe('runInference', () => {
  const deps = (runner = new FakeRunner(), cache = new FeatureCache({ maxEntries: 8, maxBytes: 1 << 20 })) => ({ runner, cache });

  it('encodes an image once for N phrases and pairs each row with its own phrase', async () => {
    const d = deps();
    const output = await runInference(d, { items: [fakeItem('img-a', 10, [1, 2, 3, 4, 5])], maxBatch: 8 });
    expect(d.runner.encodeCalls).toEqual([1]);
    expect(d.runner.headCalls).toEqual([5]);
    expect(rowScores(output.items[0])).toEqual([11, 12, 13, 14, 15]);
    expect(output.stats).toMatchObject({ rows: 5, distinctImages: 1, encodedImages: 1 });
  });

  it('runs the encoder once per distinct image in a batch and keeps rows in request order', async () => {
    const d = deps();
    const output = await runInference(d, {
      items: [fakeItem('img-a', 10, [1]), fakeItem('img-b', 20, [2, 3]), fakeItem('img-a', 10, [4])],
      maxBatch: 8,
    });
    expect(d.runner.encodeCalls).toEqual([2]);
    expect(d.runner.headCalls).toEqual([4]);
    expect(output.items.map(rowScores)).toEqual([[11], [22, 23], [14]]);
  });

  it('splits head rows into chunks of maxBatch', async () => {
    const d = deps();
    const output = await runInference(d, { items: [fakeItem('img-a', 0, [1, 2, 3, 4, 5])], maxBatch: 2 });
    expect(d.runner.headCalls).toEqual([2, 2, 1]);
    expect(rowScores(output.items[0])).toEqual([1, 2, 3, 4, 5]);
  });

  it('skips the encoder on a feature-cache hit', async () => {
    const d = deps();
    await runInference(d, { items: [fakeItem('img-a', 10, [1])], maxBatch: 8 });
    const second = await runInference(d, { items: [fakeItem('img-a', 10, [2])], maxBatch: 8 });
    expect(d.runner.encodeCalls).toEqual([1]);
    expect(second.items[0].cacheHit).toBe(true);
    expect(rowScores(second.items[0])).toEqual([12]);
    expect(second.stats).toMatchObject({ cacheHits: 1, cacheMisses: 0, encodedImages: 0 });
    expect(d.cache.hits).toBe(1);
  });

  it('never shares features between owners: the cache and a batch key them by owner and image', async () => {
    const d = deps();
    const owned = (owner: string, tokens: number[]) => ({ ...fakeItem('img-a', 10, tokens), owner });
    await runInference(d, { items: [owned('key_a', [1])], maxBatch: 8 });
    const other = await runInference(d, { items: [owned('key_b', [2])], maxBatch: 8 });
    expect(other.items[0].cacheHit).toBe(false);
    expect(other.stats).toMatchObject({ cacheHits: 0, cacheMisses: 1, encodedImages: 1 });
    const same = await runInference(d, { items: [owned('key_a', [3])], maxBatch: 8 });
    expect(same.items[0].cacheHit).toBe(true);
    // one batch, one image, two owners: encoded once for each, rows still paired with their phrases
    const batch = await runInference(d, { items: [owned('key_c', [4]), owned('key_d', [5]), owned('key_c', [6])], maxBatch: 8 });
    expect(d.runner.encodeCalls).toEqual([1, 1, 2]);
    expect(batch.items.map(rowScores)).toEqual([[14], [15], [16]]);
  });

  it('warm-up jobs bypass the cache', async () => {
    const d = deps();
    await runInference(d, { items: [fakeItem('warm', 1, [1])], maxBatch: 8, bypassCache: true });
    expect(d.cache.size).toBe(0);
  });

  it('gives each item its own transferable logits array', async () => {
    const output = await runInference(deps(), { items: [fakeItem('img-a', 10, [1, 2]), fakeItem('img-b', 20, [3])], maxBatch: 8 });
    for (const item of output.items) expect(item.logits.byteLength).toBe(item.logits.buffer.byteLength);
    expect(output.items[0].logits.buffer).not.toBe(output.items[1].logits.buffer);
  });

  it("hands a lone item the head's own logits array, without a copy", async () => {
    const d = deps();
    const heads: Float32Array[] = [];
    const runHead = d.runner.runHead.bind(d.runner);
    d.runner.runHead = async (features, tokens) => {
      const output = await runHead(features, tokens);
      heads.push(output.logits);
      return output;
    };
    const output = await runInference(d, { items: [fakeItem('img-a', 10, [1, 2])], maxBatch: 8 });
    expect(heads).toHaveLength(1);
    expect(output.items[0].logits).toBe(heads[0]);
    expect(rowScores(output.items[0])).toEqual([11, 12]);
    // rows over two head runs (maxBatch 1): copied into one array of the item's own
    const split = await runInference(deps(), { items: [fakeItem('img-a', 10, [1, 2])], maxBatch: 1 });
    expect(rowScores(split.items[0])).toEqual([11, 12]);
    expect(split.items[0].logits.byteLength).toBe(split.items[0].logits.buffer.byteLength);
  });
});

describe('postprocessItem', () => {
  it('post-processes every phrase row and encodes every requested format', async () => {
    const output = await postprocessItem({ postprocess: fakePostprocess, encodeMask: fakeEncodeMask }, fakePostprocessInput([0.9, 0.1], ['rle', 'png']));
    expect(output.phrases.map((p) => p.score)).toEqual([Math.fround(0.9), Math.fround(0.1)]);
    expect(output.phrases.map((p) => p.area)).toEqual([1, 0]);
    expect(Object.keys(output.phrases[0].masks).sort()).toEqual(['png', 'rle']);
  });
});

describe('FeatureCache', () => {
  const features = (floats: number) => ({ tensors: { c5: { data: new Float32Array(floats), dims: [floats] } } });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new FeatureCache({ maxEntries: 2, maxBytes: 1 << 20 });
    cache.set('a', features(1));
    cache.set('b', features(1));
    cache.get('a');
    cache.set('c', features(1));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('evicts by bytes and refuses an entry larger than the whole budget', () => {
    const cache = new FeatureCache({ maxEntries: 100, maxBytes: 40 });
    cache.set('a', features(4)); // 16 bytes
    cache.set('b', features(4));
    cache.set('c', features(4)); // 48 > 40: a goes
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(32);
    expect(cache.get('a')).toBeUndefined();
    cache.set('huge', features(11)); // 44 bytes > budget
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
  });
});

describe('BatchScheduler with a fake runner', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = (maxBatch: number, maxQueueDelayMs: number) => {
    const runner = new FakeRunner();
    const cache = new FeatureCache({ maxEntries: 8, maxBytes: 1 << 20 });
    const backend = new InProcessBackend({ runner, cache, postprocess: fakePostprocess, encodeMask: fakeEncodeMask });
    const batcher = new DynamicBatcher<BatchItemInput, ScheduledResult>({ maxBatch, maxQueueDelayMs, maxQueueSize: 64 });
    const batches: number[] = [];
    const scheduler = new BatchScheduler(batcher, backend, { maxBatch, onBatch: (stats) => batches.push(stats.rows) });
    scheduler.start();
    return { runner, batcher, scheduler, batches };
  };

  it('groups concurrent requests into batches of at most maxBatch rows', async () => {
    const { runner, batcher, batches } = setup(4, 10);
    let release!: () => void;
    runner.gate = new Promise((resolve) => (release = resolve));
    const results = Array.from({ length: 9 }, (_, i) => batcher.append(fakeItem(`img-${i}`, i * 10, [i]), 1));
    await vi.advanceTimersByTimeAsync(20);
    release();
    runner.gate = undefined;
    await vi.advanceTimersByTimeAsync(20);
    const scores = (await Promise.all(results)).map((result) => rowScores(result.item)[0]);
    expect(scores).toEqual(Array.from({ length: 9 }, (_, i) => i * 10 + i));
    expect(batches).toEqual([4, 4, 1]);
    expect(Math.max(...runner.headCalls)).toBeLessThanOrEqual(4);
  });

  it("records a batch's metrics after its requests' continuations ran", async () => {
    vi.useRealTimers();
    const { batcher, batches } = setup(4, 0);
    const order: string[] = [];
    const answered = batcher.append(fakeItem('img', 10, [1]), 1).then(() => order.push(`answered, ${batches.length} batches recorded`));
    await answered;
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['answered, 0 batches recorded']);
    expect(batches).toEqual([1]);
  });

  it('never runs a request aborted while its batch was waiting, and drains on shutdown', async () => {
    const { runner, batcher, scheduler } = setup(8, 10);
    const gone = new AbortController();
    const kept = batcher.append(fakeItem('kept', 100, [1]), 1);
    const dropped = batcher.append(fakeItem('gone', 200, [2]), 1, gone.signal).catch((error: unknown) => error);
    gone.abort();
    const drained = scheduler.drain();
    await vi.advanceTimersByTimeAsync(20);
    await drained;
    expect(rowScores((await kept).item)).toEqual([101]);
    expect(await dropped).toBeInstanceOf(ApiError);
    expect(runner.encodeCalls).toEqual([1]);
    expect(runner.headCalls).toEqual([1]);
  });
});
