import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MaskSchema } from '../../../contract/segment.js';
import { createLocalPipeline, type LocalPipeline } from '../../../gpu-service/src/pipeline/local.js';
import { decodeRle } from '../../../gpu-service/src/masks/index.js';
import { goldenPath, randomSmallBundle } from '../../helpers/golden.js';

let engine: LocalPipeline;
beforeAll(async () => {
  engine = await createLocalPipeline({ bundleDir: await randomSmallBundle(), provider: 'cpu', threads: 1 });
}, 600_000);
afterAll(async () => engine?.close());

const image = () => readFileSync(goldenPath('preprocess', 'img_a_640x480.jpg'));
const phrases = ['the man on the left', 'red circle', 'the dog'];

describe('in-process engine', () => {
  it('encodes the image once and runs the head once for all phrases', async () => {
    const encode = vi.spyOn(engine.runner, 'encodeImages');
    const head = vi.spyOn(engine.runner, 'runHead');
    const out = await engine.segment(image(), phrases, { format: 'rle' });
    expect(encode).toHaveBeenCalledTimes(1);
    expect(head).toHaveBeenCalledTimes(1);
    expect(head.mock.calls[0][0]).toHaveLength(3);
    encode.mockRestore();
    head.mockRestore();
    expect([out.width, out.height]).toEqual([640, 480]);
    expect(out.results.map((r) => r.text)).toEqual(phrases);
    for (const r of out.results) {
      expect(MaskSchema.parse(r.mask).format).toBe('rle');
      if (r.mask.format === 'rle') {
        expect(r.mask.size).toEqual([480, 640]);
        expect(decodeRle(r.mask).reduce((a, b) => a + b, 0)).toBe(r.area);
      }
      expect(r.score).toBeGreaterThanOrEqual(0);
      expect(r.score).toBeLessThanOrEqual(1);
    }
    expect(out.timing.total_ms).toBeGreaterThan(0);
  });

  it('gives each phrase the same mask alone as in a batch', async () => {
    const batch = await engine.predict(image(), phrases);
    for (let i = 0; i < phrases.length; i++) {
      const alone = await engine.predict(image(), [phrases[i]]);
      let inter = 0;
      let union = 0;
      for (let p = 0; p < alone.masks[0].mask.length; p++) {
        inter += alone.masks[0].mask[p] & batch.masks[i].mask[p];
        union += alone.masks[0].mask[p] | batch.masks[i].mask[p];
      }
      expect(union === 0 ? 1 : inter / union).toBeGreaterThanOrEqual(0.99);
    }
  });

  it('a lower threshold never shrinks the mask; every format is produced', async () => {
    const low = await engine.predict(image(), ['the dog'], { threshold: 0.1 });
    const high = await engine.predict(image(), ['the dog'], { threshold: 0.9 });
    expect(low.masks[0].area).toBeGreaterThanOrEqual(high.masks[0].area);
    for (let p = 0; p < high.masks[0].mask.length; p++) if (high.masks[0].mask[p]) expect(low.masks[0].mask[p]).toBe(1);
    for (const format of ['polygon', 'png'] as const) {
      const out = await engine.segment(image(), ['the dog'], { format });
      expect(out.results[0].mask.format).toBe(format);
    }
  });

  it('a bundle without a presence output answers found by area, presence null, and ignores presence_threshold', async () => {
    expect(engine.bundle.manifest.graphs.head.outputs.map((o) => o.name)).toEqual(['logits']);
    for (const threshold of [0.01, 0.5, 0.99]) {
      for (const presence_threshold of [undefined, 1]) {
        const out = await engine.segment(image(), phrases, { format: 'polygon', threshold, presence_threshold });
        for (const r of out.results) {
          expect(r.presence).toBeNull();
          expect(r.found).toBe(r.area > 0);
          expect(r.regions > 0).toBe(r.found);
          if (!r.found) expect(r).toMatchObject({ score: 0, bbox: [0, 0, 0, 0], mask: { format: 'polygon', coordinates: [] } });
        }
      }
    }
    // (this random bundle's logits saturate: its masks are never empty; the empty case by area is
    // in presence.test.ts, on the same post-processing)
  });

  it('passes image errors through as ApiError', async () => {
    await expect(engine.segment(new TextEncoder().encode('not an image'), ['x'])).rejects.toMatchObject({ code: 'unsupported_media_type' });
  });
});
