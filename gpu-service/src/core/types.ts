/**
 * The seam between the model-running code (bundle, tokenizer, imaging, masks, onnxruntime
 * adapter) and the serving code (HTTP, batcher, worker threads, storage). Both sides program
 * against these types only.
 */
import type { Mask, MaskFormat } from '../../../contract/segment.js';

/** An image decoded to packed RGB, EXIF orientation applied. */
export interface DecodedImage {
  width: number;
  height: number;
  /** [height * width * 3] RGB bytes, row-major. */
  rgb: Uint8Array;
}

/**
 * Letterbox geometry, as the reference's affine matrix: network pixel (u, v) =
 * (scale * x + offsetX, scale * y + offsetY) for original pixel (x, y).
 */
export interface LetterboxTransform {
  scale: number;
  offsetX: number;
  offsetY: number;
  /** Original image size. */
  width: number;
  height: number;
  /** Network input side S. */
  size: number;
}

/** A network-ready image: letterboxed, CLIP-normalised. */
export interface PreparedImage {
  /** [3, S, S] float32, channel-major. */
  tensor: Float32Array;
  transform: LetterboxTransform;
  /** sha256 (hex) of the original encoded bytes: the feature-cache key. */
  sha256: string;
}

/** One image's encoder outputs (batch row), in the manifest's output order. */
export interface ImageFeatures {
  /** Per output name (c3, c4, c5): data of one batch row, and its shape without the batch. */
  tensors: Record<string, { data: Float32Array; dims: number[] }>;
}

/** onnxruntime execution providers the service can run on. */
export const EXECUTION_PROVIDERS = ['cuda', 'webgpu', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
/** What CRIS_PROVIDER / --provider may ask for: one provider, or `auto` (CUDA, else CPU). */
export const PROVIDER_CHOICES = ['auto', ...EXECUTION_PROVIDERS] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

/** onnxruntime behind one adapter: the only code that touches onnxruntime-node. */
export interface ModelRunner {
  /** Execution provider actually in use (asserted at load, never a silent fallback). */
  readonly provider: ExecutionProvider;
  /** images: [B, 3, S, S] -> one ImageFeatures per batch row. */
  encodeImages(images: Float32Array, batch: number): Promise<ImageFeatures[]>;
  /**
   * One head batch: row i pairs features[i] with tokens row i (features may repeat, so N phrases
   * about one image share one encoding). tokens: [B, L] int64.
   */
  runHead(features: ImageFeatures[], tokens: BigInt64Array): Promise<HeadOutput>;
  close(): Promise<void>;
}

/** What the head answers for a batch of B rows: arrays of the caller's, new on every call (never a reused buffer). */
export interface HeadOutput {
  /** [B, (S/stride)^2] mask logits (a batch of one item may leave its worker as this very array, transferred). */
  logits: Float32Array;
  /** [B] presence logits (apply a sigmoid); null for a bundle without a presence output. */
  presence: Float32Array | null;
}

/** How a phrase's presence is decided (masks/presence.ts). */
export interface PresenceInput {
  /** The row's presence logit; null for a bundle without a presence output. */
  logit: number | null;
  /** Found when sigmoid(logit) > threshold (and the mask is not empty). */
  threshold: number;
}

/** A phrase's mask on the original image, before encoding. */
export interface PhraseMask {
  /** false: the mask is all zero, area 0, bbox zeros, score 0. */
  found: boolean;
  /** sigmoid of the presence logit; null without a presence output. */
  presence: number | null;
  /** Connected parts of the mask, 8-connectivity. */
  regions: number;
  /** [height * width] 0/1, row-major. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** Mean probability inside the mask (0 if empty). */
  score: number;
  /** [x, y, w, h]; zeros if empty. */
  bbox: [number, number, number, number];
  area: number;
}

export type EncodeMask = (phrase: PhraseMask, format: MaskFormat) => Promise<Mask>;
