/**
 * Fakes of the engine seam for the serving code's unit tests: a ModelRunner that records its
 * calls and can be held mid-batch (its logits say which image and phrase made them: image
 * pixel + first token id), a post-processing stub and a mask encoder.
 */
import type {
  EncodeMask,
  HeadOutput,
  ImageFeatures,
  LetterboxTransform,
  ModelRunner,
  PhraseMask,
  PresenceInput,
} from '../../gpu-service/src/core/types.js';
import type { BatchItemInput, ItemInference, PostprocessInput } from '../../gpu-service/src/core/jobs.js';

export const FAKE_SIZE = 8; // network input side S
export const FAKE_WORD_LEN = 4; // L
export const FAKE_LOGITS = 4; // (S/stride)^2 with stride 4

export class FakeRunner implements ModelRunner {
  readonly provider = 'cpu' as const;
  encodeCalls: number[] = [];
  headCalls: number[] = [];
  /** While set, every call waits for it (a long batch). */
  gate: Promise<void> | undefined;
  closed = false;
  /** true: the head also answers a presence logit per row (the same value as the row's logits). */
  withPresence = false;

  async encodeImages(images: Float32Array, batch: number): Promise<ImageFeatures[]> {
    await this.gate;
    this.encodeCalls.push(batch);
    const rowSize = images.length / batch; // [B, 3, S, S]
    return Array.from({ length: batch }, (_, row) => ({
      // the feature is the row's first pixel, so tests can tell images apart
      tensors: { c5: { data: new Float32Array([images[row * rowSize]]), dims: [1] } },
    }));
  }

  async runHead(features: ImageFeatures[], tokens: BigInt64Array): Promise<HeadOutput> {
    await this.gate;
    this.headCalls.push(features.length);
    const wordLen = tokens.length / features.length;
    const logits = new Float32Array(features.length * FAKE_LOGITS); // [B, (S/stride)^2]
    features.forEach((feature, row) => {
      // logit = image feature + first token id: each row says which pairing produced it
      logits.fill(feature.tensors.c5.data[0] + Number(tokens[row * wordLen]), row * FAKE_LOGITS, (row + 1) * FAKE_LOGITS);
    });
    const presence = this.withPresence ? Float32Array.from(features, (_, row) => logits[row * FAKE_LOGITS]) : null; // [B]
    return { logits, presence };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Post-processing stub: score = the row's first logit, a 1x1 mask; presence = the logit as given. */
export function fakePostprocess(logits: Float32Array, transform: LetterboxTransform, threshold: number, presence: PresenceInput): PhraseMask {
  const on = logits[0] > threshold && (presence.logit === null || presence.logit > presence.threshold) ? 1 : 0;
  return {
    found: on === 1,
    presence: presence.logit,
    regions: on,
    mask: new Uint8Array([on]),
    width: transform.width,
    height: transform.height,
    score: logits[0],
    bbox: on ? [0, 0, 1, 1] : [0, 0, 0, 0],
    area: on,
  };
}

export const fakeEncodeMask: EncodeMask = async (phrase, format) => {
  if (format === 'png') return { format, data: Buffer.from(`png:${phrase.score}`).toString('base64') };
  if (format === 'rle') return { format, size: [phrase.height, phrase.width], counts: String(phrase.area) };
  return { format, coordinates: phrase.area ? [[[[0, 0], [1, 0], [1, 1], [0, 0]]]] : [] };
};

/** A batch item whose image is `pixel` everywhere and whose phrases start with the given ids. */
export function fakeItem(sha256: string, pixel: number, firstTokens: number[]): BatchItemInput {
  const tensor = new Float32Array(3 * FAKE_SIZE * FAKE_SIZE).fill(pixel);
  const tokens = new BigInt64Array(firstTokens.length * FAKE_WORD_LEN);
  firstTokens.forEach((id, phrase) => (tokens[phrase * FAKE_WORD_LEN] = BigInt(id)));
  return { tensor, sha256, tokens, phraseCount: firstTokens.length };
}

/** The first logit of every row of an item (fake logits are constant per row). */
export function rowScores(item: ItemInference): number[] {
  return Array.from({ length: item.logits.length / FAKE_LOGITS }, (_, row) => item.logits[row * FAKE_LOGITS]);
}

/** Post-processing input for fake logits whose rows are the given values. */
export function fakePostprocessInput(rows: number[], formats: PostprocessInput['formats'] = ['polygon']): PostprocessInput {
  const logits = new Float32Array(rows.length * FAKE_LOGITS);
  rows.forEach((value, row) => logits.fill(value, row * FAKE_LOGITS, (row + 1) * FAKE_LOGITS));
  return {
    logits,
    phraseCount: rows.length,
    presence: null,
    transform: { scale: 1, offsetX: 0, offsetY: 0, width: 2, height: 3, size: FAKE_SIZE },
    threshold: 0.5,
    presenceThreshold: 0,
    formats,
  };
}
