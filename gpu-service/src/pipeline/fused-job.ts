/**
 * A batch whose items carry their encoded image (BatchItemInput.raw), run start to end in one
 * worker that holds both the imaging and the inference parts: prepare each image, the encoder
 * and head over the batch (runInference), then each item's masks. One thread hop per batch
 * instead of three per request. An image that cannot be prepared fails its own item only.
 */
import { imageFailure } from '../imaging/image-failure.js';
import type { PreparedImage } from '../core/types.js';
import { postprocessItem, runInference, type InferenceDeps } from './batch-executor.js';
import type { ImagingParts } from './imaging-parts.js';
import type { BatchInferenceOutput, BatchItemInput, BatchJob, FusedItemOutput, ItemInference } from '../core/jobs.js';

export interface FusedDeps extends InferenceDeps, ImagingParts {}

export async function runFusedJob(deps: FusedDeps, job: BatchJob): Promise<BatchInferenceOutput> {
  const now = deps.now ?? (() => performance.now());
  // Per item: its prepared image, or why it could not be prepared; null for an item sent prepared.
  const prepared: ((PreparedImage & { preprocessMs: number }) | Extract<FusedItemOutput, { error: unknown }> | null)[] = [];
  const ready: BatchItemInput[] = [];
  const clock = deps.clock ?? Date.now;
  for (const item of job.items) {
    if (!item.raw || (item.deadlineMs !== undefined && clock() > item.deadlineMs)) {
      // sent prepared, or past its deadline before decoding (runInference then skips it)
      ready.push(item);
      prepared.push(null);
      continue;
    }
    const start = now();
    try {
      const image = await deps.prepare(item.raw.bytes, item.raw.originalSize, item.raw.sha256, deps.pool); // given back after the encoder
      prepared.push({ ...image, preprocessMs: now() - start });
      ready.push({ ...item, tensor: image.tensor, sha256: image.sha256 });
    } catch (error) {
      const failure = imageFailure(error);
      prepared.push({ error: { code: failure.code, message: failure.message } });
    }
  }
  let inference: BatchInferenceOutput;
  try {
    inference = await runInference(deps, { ...job, items: ready });
  } finally {
    // The encoder has read them (its features are onnxruntime's own arrays): nothing holds them now.
    for (const image of prepared) if (image && 'tensor' in image) deps.pool?.give(image.tensor);
  }
  const items: ItemInference[] = [];
  let next = 0;
  for (const [index, item] of job.items.entries()) {
    const image = prepared[index];
    if (!item.raw || image === null) {
      items.push(inference.items[next++]);
      continue;
    }
    if ('error' in image) {
      items.push({ logits: new Float32Array(0), presence: null, cacheHit: false, fused: image });
      continue;
    }
    const inferred = inference.items[next++];
    if (inferred.expired) {
      items.push(inferred); // no masks for an answer nobody waits for
      continue;
    }
    const { logits, presence, cacheHit } = inferred;
    const { bytes: _bytes, originalSize: _originalSize, sha256: _sha256, ...params } = item.raw;
    const output = await postprocessItem(deps, { ...params, logits, presence, phraseCount: item.phraseCount, transform: image.transform });
    items.push({ logits: new Float32Array(0), presence: null, cacheHit, fused: { transform: image.transform, preprocessMs: image.preprocessMs, output } });
  }
  return { items, stats: inference.stats };
}
