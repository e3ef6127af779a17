/**
 * What crosses the thread boundary between the serving code and its worker threads. Two roles:
 * inference workers (a ModelRunner + feature cache: batches in, logits out) and imaging workers
 * (image bytes in, network input out; logits in, masks out), so neither the event loop nor the
 * accelerator waits for pixel work. Tensors travel as transferred ArrayBuffers; image features
 * never leave their worker.
 */
import type { Size } from '../../../contract/images.js';
import type { ErrorCode } from '../../../contract/errors.js';
import type { Mask, MaskFormat } from '../../../contract/segment.js';
import type { ExecutionProvider, LetterboxTransform, PreparedImage, ProviderChoice } from '../engine/types.js';

/** One request of a batch: one image and its phrases. */
export interface BatchItemInput {
  /** [3, S, S] float32, letterboxed and normalised. */
  tensor: Float32Array;
  /** Feature-cache key. */
  sha256: string;
  /** [phrases, L] int64 token ids. */
  tokens: BigInt64Array;
  phraseCount: number;
  /**
   * Fused path (imaging in the inference worker, one thread hop per batch): the encoded image,
   * prepared in the worker (then `tensor` and `sha256` are empty), and the post-processing to run
   * there; the item's answer comes back in ItemInference.fused.
   */
  raw?: { bytes: Uint8Array; originalSize?: Size } & PostprocessParams;
  /** Unix ms: past it the worker runs neither the encoder nor the head for this item. */
  deadlineMs?: number;
}

/** How one request's logits become masks. */
export interface PostprocessParams {
  threshold: number;
  presenceThreshold: number;
  /** Mask encodings wanted for every phrase (the requested format, plus png where asked). */
  formats: MaskFormat[];
}

/** A fused item's answer: its letterbox, preparation time and masks, or the ApiError that stopped it. */
export type FusedItemOutput =
  | { transform: LetterboxTransform; preprocessMs: number; output: PostprocessOutput }
  | { error: { code: ErrorCode; message: string } };

export interface BatchJob {
  items: BatchItemInput[];
  /** Largest encoder / head batch to run at once. */
  maxBatch: number;
  /** Warm-up jobs neither read nor fill the feature cache. */
  bypassCache?: boolean;
}

/** One request's share of a batch: its head logits. */
export interface ItemInference {
  /** [phrases, (S/stride)^2] float32. */
  logits: Float32Array;
  /** [phrases] presence logits; null for a bundle without a presence output. */
  presence: Float32Array | null;
  /** Whether this item's image features came from the cache. */
  cacheHit: boolean;
  /** Items sent with `raw`: their answer (logits and presence are then empty). */
  fused?: FusedItemOutput;
  /** Its deadline passed before the encoder or the head ran: no logits (empty). */
  expired?: boolean;
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

export interface BatchInferenceOutput {
  items: ItemInference[];
  stats: BatchStats;
}

/** One request's logits -> its masks. */
export interface PostprocessInput extends PostprocessParams {
  /** [phrases, (S/stride)^2] float32. */
  logits: Float32Array;
  phraseCount: number;
  /** [phrases] presence logits; null for a bundle without a presence output. */
  presence: Float32Array | null;
  transform: LetterboxTransform;
}

export interface PhraseOutput {
  found: boolean;
  presence: number | null;
  regions: number;
  score: number;
  bbox: [number, number, number, number];
  area: number;
  masks: Partial<Record<MaskFormat, Mask>>;
}

export interface PostprocessOutput {
  phrases: PhraseOutput[];
  postprocessMs: number;
}

export interface WorkerInit {
  /** 'both': imaging and inference in one worker (few cores), which runs fused batches. */
  role: 'inference' | 'imaging' | 'both';
  bundleDir: string;
  provider: ProviderChoice;
  threads: number;
  ortSpinning: boolean;
  featureCache: { maxEntries: number; maxBytes: number };
}

export type ToWorker =
  | { type: 'run'; id: number; job: BatchJob }
  | { type: 'postprocess'; id: number; input: PostprocessInput }
  | { type: 'prepare'; id: number; bytes: Uint8Array; originalSize?: Size }
  | { type: 'close' };

export type FromWorker =
  /** `providerNote`: why the runner is on `provider` (e.g. what `auto` found unavailable). */
  | { type: 'ready'; provider: ExecutionProvider; providerNote?: string }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; output: BatchInferenceOutput | PostprocessOutput | PreparedImage }
  /** `code`: an ApiError's code (a client error such as invalid_image), rebuilt on the other side. */
  | { type: 'error'; id: number; message: string; code?: ErrorCode };

/**
 * ArrayBuffers that can be moved instead of copied: only those a typed array owns whole (a view
 * into a shared pool, such as a Node Buffer's, is copied).
 */
export function transferables(views: readonly ArrayBufferView[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) {
    const buffer = view.buffer;
    if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength) {
      buffers.add(buffer);
    }
  }
  return [...buffers];
}

export function jobTransferables(job: BatchJob): ArrayBuffer[] {
  return transferables(job.items.flatMap((item) => [item.tensor, item.tokens, ...(item.raw ? [item.raw.bytes] : [])]));
}
