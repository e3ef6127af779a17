import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { ImagingQueue } from '../../../gpu-service/src/batcher/imaging-queue.js';
import type { PreparedImage } from '../../../gpu-service/src/core/types.js';
import type { PostprocessInput, PostprocessOutput } from '../../../gpu-service/src/core/jobs.js';

/** The first bytes of a PNG of width x height (all imageDimensions reads); byte 24 names the job. */
function pngHeader(width: number, height: number, name: number): Uint8Array {
  const bytes = new Uint8Array(25);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x89504e47);
  view.setUint32(4, 0x0d0a1a0a);
  view.setUint32(8, 13);
  view.setUint32(12, 0x49484452); // IHDR
  view.setUint32(16, width);
  view.setUint32(20, height);
  bytes[24] = name;
  return bytes;
}

/** Imaging threads that record which job started and finish a job when told to. */
function fakeThreads() {
  const started: number[] = [];
  const finish: Array<() => void> = [];
  return {
    started,
    /** Finishes the oldest running job. */
    finishOne: async () => {
      finish.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    },
    threads: {
      prepare: (bytes: Uint8Array) =>
        new Promise<PreparedImage>((resolve) => {
          started.push(bytes[24]);
          finish.push(() => resolve({ name: bytes[24] } as unknown as PreparedImage));
        }),
      postprocess: (input: PostprocessInput) =>
        new Promise<PostprocessOutput>((resolve) => {
          started.push(input.phraseCount);
          finish.push(() => resolve({ phrases: [], postprocessMs: 0 }));
        }),
    },
  };
}

describe('ImagingQueue (the imaging threads in fair order)', () => {
  it('starts a light tenant\'s small image right after the jobs running, not after a heavy backlog of large ones', async () => {
    const fake = fakeThreads();
    const queue = new ImagingQueue(fake.threads, { concurrency: 1 });
    const heavy = Array.from({ length: 10 }, (_, i) => queue.prepare(pngHeader(4000, 3000, 100 + i), undefined, { tenant: 'heavy' }));
    const light = queue.prepare(pngHeader(640, 480, 1), undefined, { tenant: 'light' });
    expect(fake.started).toEqual([100]); // one thread: one job at a time
    expect(queue.depth).toBe(10);
    await fake.finishOne();
    expect(fake.started).toEqual([100, 1]);
    await fake.finishOne();
    await expect(light).resolves.toEqual({ name: 1 });
    for (let i = 1; i < 10; i++) await fake.finishOne();
    expect(fake.started).toEqual([100, 1, ...Array.from({ length: 9 }, (_, i) => 101 + i)]);
    await Promise.all(heavy);
    expect(queue.depth).toBe(0);
    expect(queue.inFlight).toBe(0);
  });

  it('charges post-processing by original pixels x phrases: a tenant\'s cheap jobs pass another\'s costly ones', async () => {
    const fake = fakeThreads();
    const queue = new ImagingQueue(fake.threads, { concurrency: 1, quantum: 4 });
    const input = (width: number, height: number, phraseCount: number) =>
      ({ logits: new Float32Array(0), presence: null, phraseCount, transform: { width, height }, threshold: 0.35, presenceThreshold: 0, formats: ['rle'] }) as unknown as PostprocessInput;
    const jobs = [
      queue.postprocess(input(4000, 3000, 16), { tenant: 'heavy' }), // 192 units, starts at once
      queue.postprocess(input(4000, 3000, 15), { tenant: 'heavy' }), // 180 units
      queue.postprocess(input(640, 480, 1), { tenant: 'light' }),
      queue.postprocess(input(640, 480, 2), { tenant: 'light' }),
      queue.postprocess(input(640, 480, 3), { tenant: 'light' }),
    ];
    for (let i = 0; i < 5; i++) await fake.finishOne();
    await Promise.all(jobs);
    expect(fake.started).toEqual([16, 1, 2, 3, 15]);
  });

  it('runs up to `concurrency` jobs at once', async () => {
    const fake = fakeThreads();
    const queue = new ImagingQueue(fake.threads, { concurrency: 2 });
    const jobs = [1, 2, 3].map((name) => queue.prepare(pngHeader(100, 100, name), undefined, { tenant: 'a' }));
    expect(fake.started).toEqual([1, 2]);
    expect(queue.inFlight).toBe(2);
    for (let i = 0; i < 3; i++) await fake.finishOne();
    await Promise.all(jobs);
    expect(fake.started).toEqual([1, 2, 3]);
  });

  it('drops a queued job when its deadline passes, before it starts; a running job is left to finish', async () => {
    const fake = fakeThreads();
    let drops = 0;
    const queue = new ImagingQueue(fake.threads, { concurrency: 1, onDrop: () => drops++ });
    const running = new AbortController();
    const waiting = new AbortController();
    const first = queue.prepare(pngHeader(100, 100, 1), undefined, { tenant: 'a', signal: running.signal });
    const late = queue.prepare(pngHeader(100, 100, 2), undefined, { tenant: 'b', signal: waiting.signal });
    const after = queue.prepare(pngHeader(100, 100, 3), undefined, { tenant: 'c' });
    waiting.abort(new ApiError('timeout', 'the deadline passed', 1));
    running.abort(new ApiError('timeout', 'the deadline passed', 1));
    await expect(late).rejects.toMatchObject({ code: 'timeout' });
    expect(queue.depth).toBe(1);
    await fake.finishOne();
    await expect(first).resolves.toEqual({ name: 1 });
    await fake.finishOne();
    await expect(after).resolves.toEqual({ name: 3 });
    expect(fake.started).toEqual([1, 3]); // job 2 never reached a thread
    expect(drops).toBe(1);
    expect(queue.dropped).toBe(1);
  });

  it('refuses a job whose signal already fired without queueing it', async () => {
    const fake = fakeThreads();
    const queue = new ImagingQueue(fake.threads, { concurrency: 1 });
    const gone = new AbortController();
    gone.abort();
    await expect(queue.prepare(pngHeader(100, 100, 1), undefined, { signal: gone.signal })).rejects.toBeInstanceOf(ApiError);
    expect(fake.started).toEqual([]);
  });
});
