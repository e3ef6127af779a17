import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { FeatureCache } from '../../../gpu-service/src/pipeline/feature-cache.js';
import { runFusedJob, type FusedDeps } from '../../../gpu-service/src/pipeline/fused-job.js';
import type { BatchItemInput } from '../../../gpu-service/src/core/jobs.js';
import { FAKE_SIZE, FakeRunner, fakeEncodeMask, fakeItem, fakePostprocess } from '../../helpers/service-fakes.js';

/** A fake preparer: byte 0 of the "image" is its pixel value; a first byte 0 is an undecodable image. */
function deps(runner = new FakeRunner()): FusedDeps & { prepared: number[] } {
  const prepared: number[] = [];
  return {
    runner,
    cache: new FeatureCache({ maxEntries: 8, maxBytes: 1 << 20 }),
    postprocess: fakePostprocess,
    encodeMask: fakeEncodeMask,
    prepared,
    async prepare(bytes) {
      if (bytes[0] === 0) throw new Error('VipsPng: bad adler');
      if (bytes[0] === 255) throw new ApiError('image_too_large', 'too many pixels');
      prepared.push(bytes[0]);
      return {
        tensor: new Float32Array(3 * FAKE_SIZE * FAKE_SIZE).fill(bytes[0]),
        transform: { scale: 1, offsetX: 0, offsetY: 0, width: bytes[0], height: 2, size: FAKE_SIZE },
        sha256: `img-${bytes[0]}`,
      };
    },
  };
}

function rawItem(pixel: number, firstTokens: number[]): BatchItemInput {
  const { tokens, phraseCount } = fakeItem('', 0, firstTokens);
  return { tensor: new Float32Array(0), sha256: '', tokens, phraseCount, raw: { bytes: new Uint8Array([pixel]), threshold: 0.5, presenceThreshold: 0, formats: ['rle', 'png'] } };
}

describe('runFusedJob (imaging and inference in one worker)', () => {
  it('prepares every image, runs one encoder batch and one head batch, and answers each item with its masks', async () => {
    const d = deps();
    const output = await runFusedJob(d, { items: [rawItem(10, [1, 2]), rawItem(20, [3])], maxBatch: 8 });
    expect(d.prepared).toEqual([10, 20]);
    expect((d.runner as FakeRunner).encodeCalls).toEqual([2]);
    expect((d.runner as FakeRunner).headCalls).toEqual([3]);
    const answers = output.items.map((item) => item.fused);
    // fake logit = image pixel + first token id, the fake mask's score is that logit
    expect(answers.map((a) => a && 'output' in a && a.output.phrases.map((p) => p.score))).toEqual([[11, 12], [23]]);
    expect(answers.map((a) => a && 'transform' in a && a.transform.width)).toEqual([10, 20]);
    expect(Object.keys((answers[0] as { output: { phrases: { masks: object }[] } }).output.phrases[0].masks).sort()).toEqual(['png', 'rle']);
    expect(output.items.every((item) => item.logits.length === 0)).toBe(true); // the logits stay in the worker
    expect(output.stats).toMatchObject({ rows: 3, encodedImages: 2 });
  });

  it('fails only the item whose image cannot be prepared, with the client error', async () => {
    const d = deps();
    const output = await runFusedJob(d, { items: [rawItem(0, [1]), rawItem(7, [1]), rawItem(255, [1])], maxBatch: 8 });
    expect(output.items.map((item) => item.fused && 'error' in item.fused && item.fused.error.code)).toEqual(['invalid_image', false, 'image_too_large']);
    expect((output.items[1].fused as { output: { phrases: { score: number }[] } }).output.phrases[0].score).toBe(8);
    expect((d.runner as FakeRunner).encodeCalls).toEqual([1]);
  });

  it('runs items sent already prepared as runInference does (logits back to the caller)', async () => {
    const output = await runFusedJob(deps(), { items: [fakeItem('pre', 5, [1]), rawItem(3, [2])], maxBatch: 8 });
    expect(output.items[0].fused).toBeUndefined();
    expect(output.items[0].logits[0]).toBe(6);
    expect((output.items[1].fused as { output: { phrases: { score: number }[] } }).output.phrases[0].score).toBe(5);
  });

  it('answers a batch in which no image could be prepared without running the model', async () => {
    const d = deps();
    const output = await runFusedJob(d, { items: [rawItem(0, [1])], maxBatch: 8 });
    expect(output.items[0].fused).toEqual({ error: { code: 'invalid_image', message: 'the image could not be decoded' } });
    expect((d.runner as FakeRunner).encodeCalls).toEqual([]);
    expect((d.runner as FakeRunner).headCalls).toEqual([]);
  });
});
