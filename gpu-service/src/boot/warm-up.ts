/**
 * Start-up, the step before ready: the inference workers run a batch at max batch, the imaging
 * workers post-process a blank logits row in every encoding, side by side, so the first
 * request pays no session or code warm-up.
 */
import type { Bundle } from '../bundle/index.js';
import type { BatchJob } from '../core/jobs.js';
import { letterboxTransform } from '../imaging/affine.js';
import type { ClipTokenizer } from '../tokenizer/index.js';
import type { Workers } from './start-workers.js';

export async function warmUp(workers: Workers, bundle: Bundle, tokenizer: ClipTokenizer, maxBatch: number): Promise<void> {
  const { manifest } = bundle;
  const size = manifest.input.size;
  const grid = size / manifest.output.stride;
  const tokens = tokenizer.tokenize(['warm up'], manifest.text.word_len);
  await Promise.all([
    ...Array.from({ length: workers.backend.concurrency }, () => workers.backend.run(warmUpJob(size, maxBatch, tokens))),
    ...Array.from({ length: workers.imagingPool.concurrency }, () =>
      workers.imagingPool.postprocess({
        logits: new Float32Array(grid * grid), // [1, (S/stride)^2]
        phraseCount: 1,
        presence: null,
        transform: letterboxTransform(64, 48, size),
        threshold: manifest.output.threshold,
        presenceThreshold: 0,
        formats: ['polygon', 'rle', 'png'],
      }),
    ),
  ]);
}

/** A job at max batch: maxBatch distinct blank images, one phrase each; bypasses the cache. */
function warmUpJob(size: number, maxBatch: number, tokens: BigInt64Array): BatchJob {
  return {
    maxBatch,
    bypassCache: true,
    items: Array.from({ length: maxBatch }, (_, index) => ({
      tensor: new Float32Array(3 * size * size), // [3, S, S]
      sha256: `warm-up-${index}`,
      tokens: tokens.slice(),
      phraseCount: 1,
    })),
  };
}
