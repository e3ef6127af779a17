/**
 * The reference's own numbers through our TypeScript path: the official-format mini checkpoint
 * (golden/official-mini, made by the unmodified CRIS code) exported to a bundle, then our
 * tokenizer, onnxruntime adapter and post-processing against the reference's token ids and logits.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../../gpu-service/src/bundle/index.js';
import type { ModelRunner } from '../../../gpu-service/src/core/types.js';
import { createOnnxRunner } from '../../../gpu-service/src/inference/onnx-runner.js';
import { loadTokenizer, type ClipTokenizer } from '../../../gpu-service/src/tokenizer/index.js';
import { goldenPath, officialMiniBundle, readNpy } from '../../helpers/golden.js';

const meta = JSON.parse(readFileSync(goldenPath('official-mini', 'meta.json'), 'utf8')) as {
  golden: { sentences: string[]; words: number[][]; pairs_image_idx_text_idx: number[][] };
};
let runner: ModelRunner;
let tokenizer: ClipTokenizer;
let wordLen: number;

beforeAll(async () => {
  const bundle = await readBundle(await officialMiniBundle());
  wordLen = bundle.manifest.text.word_len;
  tokenizer = await loadTokenizer(bundle);
  runner = await createOnnxRunner(bundle, { provider: 'cpu', threads: 1 });
}, 600_000);
afterAll(async () => runner?.close());

describe('official mini checkpoint through the TypeScript path', () => {
  it('tokenizes the reference sentences to the reference ids (one truncated, one padded)', () => {
    const ids = tokenizer.tokenize(meta.golden.sentences, wordLen);
    const golden = readNpy<BigInt64Array>(goldenPath('official-mini', 'golden_words.npy'));
    expect(Array.from(ids, Number)).toEqual(Array.from(golden.data, Number));
    expect(Array.from(ids, Number)).toEqual(meta.golden.words.flat());
  });

  it('gives the reference logits for the 4 (image, sentence) pairs as one head batch', async () => {
    const images = readNpy<Float32Array>(goldenPath('official-mini', 'golden_images.npy')); // [2, 3, 416, 416]
    const features = await runner.encodeImages(images.data, images.shape[0]);
    const tokens = tokenizer.tokenize(meta.golden.sentences, wordLen); // [2, L]
    const pairs = meta.golden.pairs_image_idx_text_idx;
    const batchTokens = new BigInt64Array(pairs.length * wordLen);
    pairs.forEach(([, t], row) => batchTokens.set(tokens.subarray(t * wordLen, (t + 1) * wordLen), row * wordLen));
    const { logits } = await runner.runHead(pairs.map(([i]) => features[i]), batchTokens); // [4, 104*104]
    const golden = readNpy<Float32Array>(goldenPath('official-mini', 'golden_logits_b4.npy')); // [4, 1, 104, 104]
    expect(logits.length).toBe(golden.data.length);
    let maxDiff = 0;
    let agree = 0;
    for (let i = 0; i < logits.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(logits[i] - golden.data[i]));
      if (logits[i] > Math.log(0.35 / 0.65) === golden.data[i] > Math.log(0.35 / 0.65)) agree++;
    }
    // Logits span about +-25; float32 graph vs the reference's eager run differ in the last bits.
    expect(maxDiff).toBeLessThan(2e-3);
    expect(agree / logits.length).toBeGreaterThan(0.9999);
  });
});
