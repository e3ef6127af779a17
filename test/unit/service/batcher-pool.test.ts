import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { WORKER_YOUNG_GENERATION_MB, WorkerPool } from '../../../gpu-service/src/worker/pool.js';
import { jobTransferables, transferables } from '../../../gpu-service/src/worker/protocol.js';
import type { WorkerInit } from '../../../gpu-service/src/worker/protocol.js';
import { fakeItem, fakePostprocessInput, rowScores } from '../../helpers/service-fakes.js';

const ENTRY = new URL('../../helpers/service-fake-worker.mjs', import.meta.url);
const init = (bundleDir = 'fake'): WorkerInit => ({
  role: 'inference',
  bundleDir,
  provider: 'cpu',
  threads: 1,
  ortSpinning: false,
  featureCache: { maxEntries: 4, maxBytes: 1 << 20 },
});

describe('what moves to a worker instead of being copied', () => {
  it('moves whole, non-empty buffers only: not an empty one, not a view into a shared pool', () => {
    const whole = new Float32Array(4);
    const pooled = Buffer.from('pooled'); // a view into Node's shared Buffer pool
    expect(transferables([whole, new Float32Array(0), pooled, whole])).toEqual([whole.buffer]);
  });

  it("moves a batch's image tensors and owned image bytes, and copies its token ids", () => {
    const prepared = fakeItem('img-a', 10, [1, 2]);
    const bytes = new Uint8Array(16);
    const fused = { ...fakeItem('img-b', 20, [3]), tensor: new Float32Array(0), raw: { bytes, threshold: 0.5, presenceThreshold: 0.5, formats: ['rle' as const] } };
    expect(jobTransferables({ items: [prepared, fused], maxBatch: 8 })).toEqual([prepared.tensor.buffer, bytes.buffer]);
  });
});

describe('WorkerPool (worker threads running batches)', () => {
  it('runs jobs on its workers and moves the image tensors instead of copying them', async () => {
    const pool = await WorkerPool.start(init(), 2, ENTRY);
    try {
      expect(pool.concurrency).toBe(2);
      expect(pool.provider).toBe('cpu');
      const a = fakeItem('img-a', 10, [1, 2]);
      const b = fakeItem('img-b', 20, [3]);
      const [outA, outB] = await Promise.all([pool.run({ items: [a], maxBatch: 8 }), pool.run({ items: [b], maxBatch: 8 })]);
      expect(rowScores(outA.items[0])).toEqual([11, 12]);
      expect(rowScores(outB.items[0])).toEqual([23]);
      expect(a.tensor.byteLength).toBe(0); // transferred to the worker
    } finally {
      await pool.close();
    }
  });

  it('starts its threads with a small young generation (1 MiB semi-spaces: V8 then rarely marks their old generation)', async () => {
    const pool = await WorkerPool.start(init(), 1, ENTRY);
    try {
      expect(WORKER_YOUNG_GENERATION_MB).toBe(3);
      expect(pool.providerNote).toBe(`new_space ${2 * 2 ** 20}`); // two semi-spaces of 1 MiB (V8's default: 8 MiB each)
    } finally {
      await pool.close();
    }
  });

  it('keeps features in the worker: a second job about the same image skips the encoder', async () => {
    const pool = await WorkerPool.start(init(), 1, ENTRY);
    try {
      await pool.run({ items: [fakeItem('img-a', 10, [1])], maxBatch: 8 });
      const second = await pool.run({ items: [fakeItem('img-a', 10, [5])], maxBatch: 8 });
      expect(second.stats).toMatchObject({ cacheHits: 1, encodedImages: 0 });
      expect(rowScores(second.items[0])).toEqual([15]);
    } finally {
      await pool.close();
    }
  });

  it('prepares images and post-processes logits on an imaging worker, client errors kept as ApiError', async () => {
    const pool = await WorkerPool.start({ ...init(), role: 'imaging' }, 1, ENTRY);
    try {
      const input = fakePostprocessInput([0.9, 0.2], ['rle']);
      const output = await pool.postprocess(input);
      expect(output.phrases.map((p) => p.area)).toEqual([1, 0]);
      expect(output.phrases[0].masks.rle).toEqual({ format: 'rle', size: [3, 2], counts: '1' });
      expect(input.logits.byteLength).toBe(0); // transferred
      const prepared = await pool.prepare(new Uint8Array([7, 1, 2]));
      expect(prepared.sha256).toBe('sha-7');
      expect(prepared.tensor[0]).toBe(7);
      const refused = await pool.prepare(new Uint8Array([0xff, 0xd8])).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).status).toBe(422);
      expect(pool.failure).toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it('refuses to start when a worker cannot load its bundle, with the reason', async () => {
    await expect(WorkerPool.start(init('fail'), 2, ENTRY)).rejects.toThrow(/manifest\.json not found/);
  });

  it('fails the jobs of a worker that dies and reports the failure', async () => {
    const pool = await WorkerPool.start(init(), 1, ENTRY);
    try {
      await expect(pool.run({ items: [fakeItem('crash', 1, [1])], maxBatch: 8 })).rejects.toThrow(/exited with code 3/);
      expect(pool.failure).toMatch(/exited with code 3/);
      await expect(pool.run({ items: [fakeItem('img-a', 1, [1])], maxBatch: 8 })).rejects.toBeInstanceOf(ApiError);
    } finally {
      await pool.close();
    }
  });
});
