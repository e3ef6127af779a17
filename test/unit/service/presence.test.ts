/**
 * "Found or not": the presence decision, the regions count, the empty answer in every encoding,
 * and the presence logits' way through the batch executor.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PhraseResultSchema } from '../../../contract/segment.js';
import { parseManifest } from '../../../gpu-service/src/bundle/index.js';
import { phraseResult } from '../../../gpu-service/src/pipeline/segment-pipeline.js';
import { letterboxTransform } from '../../../gpu-service/src/imaging/index.js';
import { countRegions, decodeRle, encodeMask, logitsToPhraseMask, notFound, thresholdMask } from '../../../gpu-service/src/masks/index.js';
import { postprocessItem, runInference } from '../../../gpu-service/src/pipeline/batch-executor.js';
import { FeatureCache } from '../../../gpu-service/src/pipeline/feature-cache.js';
import { FakeRunner, fakeEncodeMask, fakeItem, fakePostprocess, fakePostprocessInput } from '../../helpers/service-fakes.js';

/** A [h, w] 0/1 mask from rows of '#' and '.'. */
function maskOf(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const width = rows[0].length;
  const mask = Uint8Array.from(rows.join(''), (c) => (c === '#' ? 1 : 0));
  return { mask, width, height: rows.length };
}

describe('countRegions (8-connectivity)', () => {
  it.each([
    ['nothing', ['....', '....'], 0],
    ['one blob', ['.##.', '.##.'], 1],
    ['two apart', ['#..#', '#..#'], 2],
    ['corner-touching pixels are one part', ['#...', '.#..', '..#.'], 1],
    ['a ring with a hole is one part; a dot inside it is another', ['#####', '#...#', '#.#.#', '#...#', '#####'], 2],
    ['three separate dots', ['#.#.#'], 3],
  ])('%s', (_name, rows, expected) => {
    const { mask, width, height } = maskOf(rows);
    const measured = thresholdMask(Float32Array.from(mask), width, height, 0.5);
    expect(measured.regions).toBe(expected);
    expect(countRegions(mask, width, measured.bbox)).toBe(expected);
    expect(measured.found).toBe(expected > 0);
  });
});

describe('logitsToPhraseMask with a presence logit', () => {
  const t = letterboxTransform(40, 30, 16);
  const confident = new Float32Array(16).fill(6); // [4, 4] logits: everything inside

  it('without a presence output: found is area > 0, presence null', () => {
    const all = logitsToPhraseMask(confident, t, 0.5);
    expect(all).toMatchObject({ found: true, presence: null, regions: 1 });
    expect(all.area).toBeGreaterThan(1000); // of 40 * 30: the letterbox border's rows fall below
    const none = logitsToPhraseMask(new Float32Array(16).fill(-6), t, 0.5);
    expect(none).toMatchObject({ found: false, presence: null, regions: 0, area: 0, score: 0, bbox: [0, 0, 0, 0] });
  });

  it('presence above the threshold keeps the mask and reports the probability', () => {
    const m = logitsToPhraseMask(confident, t, 0.5, { logit: 2, threshold: 0.5 });
    expect(m.found).toBe(true);
    expect(m.presence).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
    expect(m.area).toBe(logitsToPhraseMask(confident, t, 0.5).area);
  });

  it('presence at or below the threshold answers an empty mask whatever the mask logits say', () => {
    for (const presence of [{ logit: -2, threshold: 0.5 }, { logit: 0, threshold: 0.5 }, { logit: 40, threshold: 1 }]) {
      const m = logitsToPhraseMask(confident, t, 0.5, presence);
      expect(m).toMatchObject({ found: false, regions: 0, area: 0, score: 0, bbox: [0, 0, 0, 0], width: 40, height: 30 });
      expect(m.mask.length).toBe(40 * 30);
      expect(m.mask.every((v) => v === 0)).toBe(true);
      expect(m.presence).toBeCloseTo(1 / (1 + Math.exp(-presence.logit)), 12);
    }
  });

  it('presence above the threshold with an empty mask is still not found', () => {
    const m = logitsToPhraseMask(new Float32Array(16).fill(-6), t, 0.5, { logit: 5, threshold: 0.5 });
    expect(m).toMatchObject({ found: false, area: 0 });
    expect(m.presence).toBeGreaterThan(0.99);
  });
});

describe('a phrase not found encodes a valid empty mask in every format', () => {
  const empty = notFound(37, 23, 0.1);

  it('polygon: no coordinates; rle: COCO RLE of all zeros; png: an all-zero PNG of the image size', async () => {
    const polygon = await encodeMask(empty, 'polygon');
    expect(polygon).toEqual({ format: 'polygon', coordinates: [] });
    const rle = await encodeMask(empty, 'rle');
    expect(rle.format === 'rle' && rle.size).toEqual([23, 37]);
    if (rle.format !== 'rle') throw new Error('not rle');
    const decoded = decodeRle(rle);
    expect(decoded.length).toBe(37 * 23);
    expect(decoded.every((v) => v === 0)).toBe(true);
    const png = await encodeMask(empty, 'png');
    if (png.format !== 'png') throw new Error('not png');
    const pngBytes = Buffer.from(png.data, 'base64');
    const meta = await sharp(pngBytes).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 37, 23, 1]);
    const { data } = await sharp(pngBytes).raw().toBuffer({ resolveWithObject: true });
    expect(data.every((v) => v === 0)).toBe(true);
    for (const mask of [polygon, rle, png]) {
      const result = phraseResult('the purple star', empty, mask);
      expect(PhraseResultSchema.parse(result)).toMatchObject({ found: false, presence: 0.1, area: 0, bbox: [0, 0, 0, 0], score: 0, regions: 0 });
    }
  });
});

describe('presence logits through the batch executor', () => {
  it('runInference hands each item its rows of presence logits; null without a presence output', async () => {
    const runner = new FakeRunner();
    const cache = new FeatureCache({ maxEntries: 8, maxBytes: 1 << 20 });
    const plain = await runInference({ runner, cache }, { items: [fakeItem('a', 10, [1, 2])], maxBatch: 8 });
    expect(plain.items[0].presence).toBeNull();
    runner.withPresence = true;
    const job = { items: [fakeItem('a', 10, [1]), fakeItem('b', 20, [2, 3])], maxBatch: 2 }; // 3 rows in 2 head runs
    const output = await runInference({ runner, cache }, job);
    expect(output.items.map((item) => Array.from(item.presence!))).toEqual([[11], [22, 23]]);
  });

  it('postprocessItem decides each phrase with its own presence logit and the request threshold', async () => {
    const input = { ...fakePostprocessInput([0.9, 0.9, 0.9]), presence: Float32Array.from([0.2, 0.8, 0.6]), presenceThreshold: 0.7 };
    const output = await postprocessItem({ postprocess: fakePostprocess, encodeMask: fakeEncodeMask }, input);
    expect(output.phrases.map((p) => p.found)).toEqual([false, true, false]);
    expect(output.phrases.map((p) => p.presence)).toEqual([0.2, 0.8, 0.6].map(Math.fround));
  });
});

describe('bundle manifest: the optional presence output', () => {
  /** A minimal valid manifest (the schema's rules only; no files are read). */
  function manifest(presence: boolean, presenceThreshold?: number): Record<string, unknown> {
    const sha = 'a'.repeat(64);
    const out = (name: string, c: number, g: number) => ({ name, dtype: 'float32', shape: ['batch', c, g, g] });
    return {
      format: 'cris-bundle/1',
      id: 'p',
      version: '1',
      arch: { name: 'cris' },
      precision: 'fp32',
      input: { size: 32, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2], pad_rgb: [1, 2, 3], interpolation: 'bicubic' },
      text: { word_len: 5, tokenizer: { type: 'clip-bpe', merges_file: 'm.gz', merges_used: 10, vocab_size: 524, sot_id: 522, eot_id: 523, pad_id: 0 } },
      output: { stride: 4, threshold: 0.4, upsample: 'bicubic-align-corners' },
      ...(presenceThreshold === undefined ? {} : { presence_threshold: presenceThreshold }),
      graphs: {
        image_encoder: { file: 'e.onnx', inputs: [{ name: 'image', dtype: 'float32', shape: ['batch', 3, 32, 32] }], outputs: [out('c5', 8, 1)] },
        head: {
          file: 'h.onnx',
          inputs: [out('c5', 8, 1), { name: 'tokens', dtype: 'int64', shape: ['batch', 5] }],
          outputs: [out('logits', 1, 8), ...(presence ? [{ name: 'presence', dtype: 'float32', shape: ['batch', 1] }] : [])],
        },
      },
      files: { 'e.onnx': sha, 'h.onnx': sha, 'm.gz': sha },
    };
  }

  it('accepts a head without presence, and one with presence plus presence_threshold', () => {
    expect(parseManifest(manifest(false)).presence_threshold).toBeUndefined();
    expect(parseManifest(manifest(true, 0.45)).presence_threshold).toBe(0.45);
  });

  it.each([
    ['presence without presence_threshold', () => manifest(true), /manifest\.presence_threshold: required/],
    ['presence_threshold without presence', () => manifest(false, 0.5), /manifest\.presence_threshold: only for a head/],
    ['presence_threshold out of range', () => manifest(true, 1.5), /manifest\.presence_threshold/],
    [
      'a presence output of the wrong shape',
      () => {
        const m = manifest(true, 0.5) as any;
        m.graphs.head.outputs[1].shape = ['batch', 2];
        return m;
      },
      /manifest\.graphs\.head\.outputs\[1\]\.shape/,
    ],
  ])('refuses %s, naming the field', (_name, make, message) => {
    expect(() => parseManifest(make())).toThrow(message);
  });
});
