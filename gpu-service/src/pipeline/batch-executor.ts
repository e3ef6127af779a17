/**
 * The two halves of running a batch, as pure orchestration over injected parts (tests drive
 * them with fakes):
 *   runInference   the image encoder once per distinct image the feature cache does not hold,
 *                  then the head over every phrase row (features repeated per phrase); an item
 *                  whose deadline has passed is skipped before the encoder and before the head;
 *   postprocessItem one request's logits -> masks on the original image, in the wanted encodings.
 * The service runs them in different worker threads so the next batch's inference overlaps
 * this batch's post-processing.
 */
import type { MaskFormat } from '../../../contract/segment.js';
import type { ArrayPool } from '../core/array-pool.js';
import type { EncodeMask, ImageFeatures, LetterboxTransform, ModelRunner, PhraseMask, PresenceInput } from '../core/types.js';
import type { FeatureCache } from './feature-cache.js';
import type { BatchInferenceOutput, BatchItemInput, BatchJob, ItemInference, PhraseOutput, PostprocessInput, PostprocessOutput } from '../core/jobs.js';

/**
 * logits of one row ([(S/stride)^2]) and its presence -> the phrase's mask on the original image;
 * with a pool, its scratch and the mask come from it (postprocessItem gives the mask back).
 */
export type Postprocess = (logits: Float32Array, transform: LetterboxTransform, threshold: number, presence: PresenceInput, pool?: ArrayPool) => PhraseMask;

export interface InferenceDeps {
  runner: ModelRunner;
  cache: FeatureCache;
  now?: () => number;
  /** Unix ms, for the items' deadlines. */
  clock?: () => number;
}

export interface PostprocessDeps {
  postprocess: Postprocess;
  encodeMask: EncodeMask;
  now?: () => number;
  /** This thread's scratch arrays (core/array-pool.ts); each request's own when absent. */
  pool?: ArrayPool;
}

/** An item's key in the feature cache and among a batch's images: its owner's and its image's. */
export function featureKey(item: Pick<BatchItemInput, 'sha256' | 'owner'>): string {
  return `${item.owner ?? ''}\n${item.sha256}`;
}

export async function runInference(deps: InferenceDeps, job: BatchJob): Promise<BatchInferenceOutput> {
  const now = deps.now ?? (() => performance.now());
  const clock = deps.clock ?? Date.now;
  const maxBatch = Math.max(1, job.maxBatch);
  const expired = new Set<number>();
  const markExpired = () =>
    job.items.forEach((item, index) => {
      if (item.deadlineMs !== undefined && clock() > item.deadlineMs) expired.add(index);
    });

  // 1. Features per distinct image: cache first, then the encoder over the misses.
  markExpired();
  const features = new Map<string, ImageFeatures>();
  const hitImages = new Set<string>();
  const misses = new Map<string, Float32Array>();
  for (const [index, item] of job.items.entries()) {
    if (expired.has(index)) continue;
    const key = featureKey(item);
    if (features.has(key) || misses.has(key)) continue;
    const cached = job.bypassCache ? undefined : deps.cache.get(key);
    if (cached) {
      features.set(key, cached);
      hitImages.add(key);
    } else {
      misses.set(key, item.tensor);
    }
  }
  const missList = [...misses];
  const encoderStart = now();
  for (let start = 0; start < missList.length; start += maxBatch) {
    const chunk = missList.slice(start, start + maxBatch);
    const imageSize = chunk[0][1].length;
    let images = chunk[0][1]; // one image: its tensor as it is, no copy
    if (chunk.length > 1) {
      images = new Float32Array(chunk.length * imageSize); // [B, 3, S, S]
      chunk.forEach(([, tensor], row) => images.set(tensor, row * imageSize));
    }
    const encoded = await deps.runner.encodeImages(images, chunk.length);
    chunk.forEach(([key], row) => {
      features.set(key, encoded[row]);
      if (!job.bypassCache) deps.cache.set(key, encoded[row]);
    });
  }
  const imageEncoderMs = missList.length > 0 ? now() - encoderStart : 0;

  // 2. Head rows: (item, phrase) pairs in order, features repeated per phrase.
  markExpired();
  const rows: { item: number; phrase: number }[] = [];
  job.items.forEach((item, itemIndex) => {
    if (expired.has(itemIndex)) return;
    for (let phrase = 0; phrase < item.phraseCount; phrase++) rows.push({ item: itemIndex, phrase });
  });
  const wordLen = job.items.length > 0 ? job.items[0].tokens.length / job.items[0].phraseCount : 0;
  let rowSize = 0;
  const rowLogits: Float32Array[] = new Array(rows.length);
  /** Each head run's whole logits, by its first row: an item whose rows are exactly one run keeps that array (no copy). */
  const runLogits = new Map<number, Float32Array>();
  const rowPresence: number[] = new Array(rows.length); // [rows] presence logits, when the head has them
  let withPresence = false;
  const headStart = now();
  for (let start = 0; start < rows.length; start += maxBatch) {
    const chunk = rows.slice(start, start + maxBatch);
    const tokens = new BigInt64Array(chunk.length * wordLen); // [B, L]
    const chunkFeatures = chunk.map(({ item, phrase }, row) => {
      const input = job.items[item];
      tokens.set(input.tokens.subarray(phrase * wordLen, (phrase + 1) * wordLen), row * wordLen);
      return features.get(featureKey(input))!;
    });
    const { logits, presence } = await deps.runner.runHead(chunkFeatures, tokens); // [B, (S/stride)^2], [B]
    rowSize = logits.length / chunk.length;
    withPresence = presence !== null;
    runLogits.set(start, logits);
    chunk.forEach((_, row) => {
      rowLogits[start + row] = logits.subarray(row * rowSize, (row + 1) * rowSize);
      if (presence) rowPresence[start + row] = presence[row];
    });
  }
  const headMs = rows.length > 0 ? now() - headStart : 0;

  // 3. Each item's rows in one array of its own (transferable on its own).
  const items: ItemInference[] = [];
  let cursor = 0;
  for (const [index, item] of job.items.entries()) {
    if (expired.has(index)) {
      items.push({ logits: new Float32Array(0), presence: null, cacheHit: false, expired: true });
      continue;
    }
    const presence = withPresence ? Float32Array.from(rowPresence.slice(cursor, cursor + item.phraseCount)) : null; // [phrases]
    const whole = runLogits.get(cursor);
    let logits: Float32Array; // [phrases, (S/stride)^2]
    if (whole && whole.length === item.phraseCount * rowSize && ownsBuffer(whole)) {
      logits = whole; // a batch of this item alone: the head's output as it is
      cursor += item.phraseCount;
    } else {
      logits = new Float32Array(item.phraseCount * rowSize);
      for (let phrase = 0; phrase < item.phraseCount; phrase++) logits.set(rowLogits[cursor++], phrase * rowSize);
    }
    items.push({ logits, presence, cacheHit: hitImages.has(featureKey(item)) });
  }

  return {
    items,
    stats: {
      rows: rows.length,
      distinctImages: features.size,
      encodedImages: missList.length,
      cacheHits: hitImages.size,
      cacheMisses: job.bypassCache ? 0 : missList.length,
      imageEncoderMs,
      headMs,
    },
  };
}

/** Whether a typed array is its whole buffer (then it moves to another thread without a copy). */
function ownsBuffer(view: Float32Array): boolean {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

export async function postprocessItem(deps: PostprocessDeps, input: PostprocessInput): Promise<PostprocessOutput> {
  const now = deps.now ?? (() => performance.now());
  const start = now();
  const phrases: PhraseOutput[] = [];
  for (let phrase = 0; phrase < input.phraseCount; phrase++) {
    const mask = phraseMask(deps, input, phrase);
    try {
      phrases.push(await encodePhrase(deps.encodeMask, mask, input.formats));
    } finally {
      deps.pool?.give(mask.mask); // the encodings hold none of it
    }
  }
  return { phrases, postprocessMs: now() - start };
}

/** Row `phrase` of one request's logits -> that phrase's mask on the original image. */
function phraseMask(deps: PostprocessDeps, input: PostprocessInput, phrase: number): PhraseMask {
  const rowSize = input.logits.length / input.phraseCount;
  const row = input.logits.subarray(phrase * rowSize, (phrase + 1) * rowSize); // [(S/stride)^2]
  const presence = { logit: input.presence ? input.presence[phrase] : null, threshold: input.presenceThreshold };
  return deps.postprocess(row, input.transform, input.threshold, presence, deps.pool);
}

async function encodePhrase(encodeMask: EncodeMask, mask: PhraseMask, formats: MaskFormat[]): Promise<PhraseOutput> {
  const masks: PhraseOutput['masks'] = {};
  for (const format of new Set(formats)) masks[format] = await encodeMask(mask, format);
  return { found: mask.found, presence: mask.presence, regions: mask.regions, score: mask.score, bbox: mask.bbox, area: mask.area, masks };
}
