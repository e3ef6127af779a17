/**
 * The data of a job, on whichever side of a thread boundary it runs: one request's batch item,
 * a batch, its inference output, and one request's post-processing input and output. The
 * pipeline builds and runs them; the worker threads carry them (worker/protocol.ts).
 */
import type { Size } from '../../../contract/images.js';
import type { ErrorCode } from '../../../contract/errors.js';
import type { ForwardOptions, Mask, MaskFormat, SegmentOptions } from '../../../contract/segment.js';
import type { LetterboxTransform } from './types.js';

/** A segmentation request, validated (server/segment-request.ts parses one; the CLIs build one). */
export interface SegmentRequest {
  image: Uint8Array;
  /** Hex sha256 of `image` (its image_id) when the parser computed it already. */
  imageSha256?: string;
  /** Trimmed, as sent (the tokenizer cleans them further). */
  phrases: string[];
  options: SegmentOptions;
  resultKey: string;
  /** Where to keep the image for `image_id` (from the edge). */
  storeImage?: ForwardOptions['storeImage'];
}

/** One request of a batch: one image and its phrases. */
export interface BatchItemInput {
  /** [3, S, S] float32, letterboxed and normalised. */
  tensor: Float32Array;
  /** The image's hex sha256: with `owner`, the feature-cache key. */
  sha256: string;
  /**
   * Whose request (the edge's API key id; '' unsigned): features are cached and shared within a
   * batch per owner and image, never across owners. A hit on another tenant's upload would show
   * in the answer's timing (no encoder time) and say what that tenant sent.
   */
  owner?: string;
  /** [phrases, L] int64 token ids. */
  tokens: BigInt64Array;
  phraseCount: number;
  /**
   * Fused path (imaging in the inference worker, one thread hop per batch): the encoded image,
   * prepared in the worker (then `tensor` and `sha256` are empty), and the post-processing to run
   * there; the item's answer comes back in ItemInference.fused.
   */
  raw?: { bytes: Uint8Array; originalSize?: Size; /** the bytes' hex sha256 (image_id) */ sha256?: string } & PostprocessParams;
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
