/**
 * What crosses the thread boundary between the serving code and an inference worker. Tensors
 * travel as transferred ArrayBuffers; image features never leave the worker.
 */
import type { Mask, MaskFormat } from '../../../contract/segment.js';
import type { LetterboxTransform } from '../engine/types.js';

/** One request of a batch: one image and its phrases. */
export interface BatchItemInput {
  /** [3, S, S] float32, letterboxed and normalised. */
  tensor: Float32Array;
  /** Feature-cache key. */
  sha256: string;
  transform: LetterboxTransform;
  /** [phrases, L] int64 token ids. */
  tokens: BigInt64Array;
  phraseCount: number;
  threshold: number;
  /** Mask encodings wanted for every phrase (the requested format, plus png where asked). */
  formats: MaskFormat[];
}

export interface BatchJob {
  items: BatchItemInput[];
  /** Largest encoder / head batch to run at once. */
  maxBatch: number;
  /** Warm-up jobs neither read nor fill the feature cache. */
  bypassCache?: boolean;
}

export interface PhraseOutput {
  score: number;
  bbox: [number, number, number, number];
  area: number;
  masks: Partial<Record<MaskFormat, Mask>>;
}

export interface ItemOutput {
  phrases: PhraseOutput[];
  /** Whether this item's image features came from the cache. */
  cacheHit: boolean;
  postprocessMs: number;
}

export interface BatchStats {
  /** Head rows run. */
  rows: number;
  /** Distinct images in the batch, and how many of them the encoder had to run for. */
  distinctImages: number;
  encodedImages: number;
  cacheHits: number;
  cacheMisses: number;
  imageEncoderMs: number;
  headMs: number;
}

export interface BatchOutput {
  items: ItemOutput[];
  stats: BatchStats;
}

export interface WorkerInit {
  bundleDir: string;
  provider: 'auto' | 'cuda' | 'cpu';
  threads: number;
  featureCache: { maxEntries: number; maxBytes: number };
}

export type ToWorker = { type: 'run'; id: number; job: BatchJob } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; provider: 'cuda' | 'cpu' }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; output: BatchOutput }
  | { type: 'error'; id: number; message: string; code?: string };

/**
 * ArrayBuffers of a job that can be moved instead of copied: only those a typed array owns
 * whole (a view into a shared pool, such as a Node Buffer's, is copied).
 */
export function jobTransferables(job: BatchJob): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  const add = (view: ArrayBufferView) => {
    const buffer = view.buffer;
    if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength) {
      buffers.add(buffer);
    }
  };
  for (const item of job.items) {
    add(item.tensor);
    add(item.tokens);
  }
  return [...buffers];
}
