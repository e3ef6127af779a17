/**
 * Runs one batch on a ModelRunner: the image encoder once per distinct image that the feature
 * cache does not hold, then the head over every phrase row (features repeated per phrase),
 * then post-processing and mask encoding per row. Pure orchestration: the runner, cache and
 * post-processing are injected, so tests drive it with fakes.
 */
import type { MaskFormat } from '../../../contract/segment.js';
import type { EncodeMask, ImageFeatures, LetterboxTransform, ModelRunner, PhraseMask } from '../engine/types.js';
import type { FeatureCache } from './feature-cache.js';
import type { BatchJob, BatchOutput, ItemOutput, PhraseOutput } from './protocol.js';

/** logits of one row ([(S/stride)^2]) -> the phrase's mask on the original image. */
export type Postprocess = (logits: Float32Array, transform: LetterboxTransform, threshold: number) => PhraseMask;

export interface ExecutorDeps {
  runner: ModelRunner;
  cache: FeatureCache;
  postprocess: Postprocess;
  encodeMask: EncodeMask;
  now?: () => number;
}

export async function executeBatch(deps: ExecutorDeps, job: BatchJob): Promise<BatchOutput> {
  const now = deps.now ?? (() => performance.now());
  const maxBatch = Math.max(1, job.maxBatch);

  // 1. Features per distinct image: cache first, then one encoder run over the misses.
  const features = new Map<string, ImageFeatures>();
  const hitImages = new Set<string>();
  const misses: { sha256: string; tensor: Float32Array }[] = [];
  for (const item of job.items) {
    if (features.has(item.sha256) || misses.some((miss) => miss.sha256 === item.sha256)) continue;
    const cached = job.bypassCache ? undefined : deps.cache.get(item.sha256);
    if (cached) {
      features.set(item.sha256, cached);
      hitImages.add(item.sha256);
    } else {
      misses.push({ sha256: item.sha256, tensor: item.tensor });
    }
  }
  const encoderStart = now();
  for (let start = 0; start < misses.length; start += maxBatch) {
    const chunk = misses.slice(start, start + maxBatch);
    const imageSize = chunk[0].tensor.length;
    const images = new Float32Array(chunk.length * imageSize); // [B, 3, S, S]
    chunk.forEach((miss, row) => images.set(miss.tensor, row * imageSize));
    const encoded = await deps.runner.encodeImages(images, chunk.length);
    chunk.forEach((miss, row) => {
      features.set(miss.sha256, encoded[row]);
      if (!job.bypassCache) deps.cache.set(miss.sha256, encoded[row]);
    });
  }
  const imageEncoderMs = misses.length > 0 ? now() - encoderStart : 0;

  // 2. Head rows: (item, phrase) pairs in order, features repeated per phrase.
  const rows: { item: number; phrase: number }[] = [];
  job.items.forEach((item, itemIndex) => {
    for (let phrase = 0; phrase < item.phraseCount; phrase++) rows.push({ item: itemIndex, phrase });
  });
  const wordLen = job.items.length > 0 ? job.items[0].tokens.length / job.items[0].phraseCount : 0;
  const rowLogits: Float32Array[] = new Array(rows.length);
  const headStart = now();
  for (let start = 0; start < rows.length; start += maxBatch) {
    const chunk = rows.slice(start, start + maxBatch);
    const tokens = new BigInt64Array(chunk.length * wordLen); // [B, L]
    const chunkFeatures = chunk.map(({ item, phrase }, row) => {
      const input = job.items[item];
      tokens.set(input.tokens.subarray(phrase * wordLen, (phrase + 1) * wordLen), row * wordLen);
      return features.get(input.sha256)!;
    });
    const logits = await deps.runner.runHead(chunkFeatures, tokens); // [B, (S/stride)^2]
    const rowSize = logits.length / chunk.length;
    chunk.forEach((_, row) => {
      rowLogits[start + row] = logits.subarray(row * rowSize, (row + 1) * rowSize);
    });
  }
  const headMs = rows.length > 0 ? now() - headStart : 0;

  // 3. Post-processing and mask encodings, per item.
  const items: ItemOutput[] = [];
  let rowCursor = 0;
  for (const item of job.items) {
    const postStart = now();
    const phrases: PhraseOutput[] = [];
    for (let phrase = 0; phrase < item.phraseCount; phrase++) {
      const mask = deps.postprocess(rowLogits[rowCursor++], item.transform, item.threshold);
      phrases.push(await encodePhrase(deps.encodeMask, mask, item.formats));
    }
    items.push({ phrases, cacheHit: hitImages.has(item.sha256), postprocessMs: now() - postStart });
  }

  return {
    items,
    stats: {
      rows: rows.length,
      distinctImages: features.size,
      encodedImages: misses.length,
      cacheHits: hitImages.size,
      cacheMisses: job.bypassCache ? 0 : misses.length,
      imageEncoderMs,
      headMs,
    },
  };
}

async function encodePhrase(encodeMask: EncodeMask, mask: PhraseMask, formats: MaskFormat[]): Promise<PhraseOutput> {
  const masks: PhraseOutput['masks'] = {};
  for (const format of new Set(formats)) masks[format] = await encodeMask(mask, format);
  return { score: mask.score, bbox: mask.bbox, area: mask.area, masks };
}
