import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CostBudget, requestCost } from '../../../gpu-service/src/admission/cost-budget.js';
import { imageDimensions } from '../../../gpu-service/src/admission/image-dimensions.js';
import { FeatureCache } from '../../../gpu-service/src/pipeline/feature-cache.js';
import { runInference } from '../../../gpu-service/src/pipeline/batch-executor.js';
import { FakeRunner, fakeItem, rowScores } from '../../helpers/service-fakes.js';

describe('imageDimensions (header only, for the cost)', () => {
  it('reads PNG, baseline and progressive JPEG, lossy, lossless and extended WebP as sharp does', async () => {
    const base = sharp({ create: { width: 123, height: 45, channels: 3, background: '#804020' } });
    const files = [
      await base.clone().png().toBuffer(),
      await base.clone().jpeg().toBuffer(),
      await base.clone().jpeg({ progressive: true }).withMetadata({ orientation: 6 }).toBuffer(),
      await base.clone().webp().toBuffer(),
      await base.clone().webp({ lossless: true }).toBuffer(),
      await sharp({ create: { width: 123, height: 45, channels: 4, background: '#80402080' } }).webp().toBuffer(),
    ];
    for (const file of files) expect(imageDimensions(new Uint8Array(file))).toEqual({ width: 123, height: 45 });
  });

  it('answers null for bytes that are not an image header', () => {
    expect(imageDimensions(new Uint8Array([1, 2, 3]))).toBeNull();
    expect(imageDimensions(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 2]))).toBeNull();
  });
});

describe('CostBudget', () => {
  it('costs ceil(megapixels) x phrases; an unreadable header counts as the largest image', () => {
    expect(requestCost(160 * 200, 1)).toBe(1);
    expect(requestCost(40_000_000, 16)).toBe(640);
    expect(requestCost(2_500_000, 3)).toBe(9);
    expect(requestCost(undefined, 2)).toBe(80);
  });

  it('admits a first request over the tenant budget, then refuses until released', () => {
    const budget = new CostBudget({ perTenant: 100, global: 1000 });
    const release = budget.admit('heavy', 640);
    expect(() => budget.admit('heavy', 1)).toThrow(/budget/);
    const light = budget.admit('light', 1);
    expect(budget.inUse).toBe(641);
    release();
    release(); // once only
    expect(budget.inUse).toBe(1);
    budget.admit('heavy', 99);
    light();
    expect(budget.usedBy('light')).toBe(0);
    expect(budget.refused).toEqual({ tenant: 1, global: 0 });
  });
});

describe('runInference deadlines', () => {
  it('skips an item whose deadline passed before the encoder, and one that passes before the head', async () => {
    const runner = new FakeRunner();
    let clock = 1_000;
    const late = { ...fakeItem('late', 1, [3]), deadlineMs: 999 };
    const duringEncoder = { ...fakeItem('slow', 2, [4]), deadlineMs: 1_050 };
    const onTime = { ...fakeItem('ok', 3, [5]), deadlineMs: 5_000 };
    const encode = runner.encodeImages.bind(runner);
    runner.encodeImages = async (images, batch) => {
      clock = 1_100; // the encoder takes 100 ms
      return encode(images, batch);
    };
    const output = await runInference({ runner, cache: new FeatureCache({ maxEntries: 4, maxBytes: 1 << 20 }), clock: () => clock }, { items: [late, duringEncoder, onTime], maxBatch: 8 });
    expect(runner.encodeCalls).toEqual([2]); // 'late' was not encoded
    expect(runner.headCalls).toEqual([1]); // only 'ok' reached the head
    expect(output.items.map((item) => item.expired ?? false)).toEqual([true, true, false]);
    expect(rowScores(output.items[2])).toEqual([3 + 5]);
  });
});
