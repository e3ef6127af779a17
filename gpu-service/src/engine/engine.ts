/**
 * The in-process pipeline used by the CLIs and the evaluation: bundle -> runner + tokenizer, then
 * per call: decode + letterbox once, the image encoder once, the head once over all phrases as a
 * batch, post-processing and mask encoding per phrase. The pure parts live in imaging/, tokenizer/
 * and masks/; this file only wires them.
 */
import type { Mask, MaskFormat, PhraseResult } from '../../../contract/segment.js';
import { modelName, type Bundle } from '../bundle/index.js';
import { prepareImage } from '../imaging/index.js';
import { encodeMask, logitsToPhraseMask } from '../masks/index.js';
import type { ClipTokenizer } from '../tokenizer/index.js';
import { loadBundle } from './load.js';
import type { ExecutionProvider, ModelRunner, PhraseMask, PresenceInput, ProviderChoice } from './types.js';

export interface EngineOptions {
  bundleDir: string;
  provider?: ProviderChoice;
  threads?: number;
  /** Most head rows per onnxruntime run (default 16). */
  maxHeadBatch?: number;
  log?: (message: string) => void;
}

export interface EngineTiming {
  total_ms: number;
  preprocess_ms: number;
  image_encoder_ms: number;
  head_ms: number;
  postprocess_ms: number;
}

export interface PredictResult {
  width: number;
  height: number;
  /** One per phrase, in order. */
  masks: PhraseMask[];
  timing: EngineTiming;
}

export interface SegmentOutput {
  width: number;
  height: number;
  results: PhraseResult[];
  timing: EngineTiming;
}

/** Per-call thresholds; the bundle's defaults when absent. */
export interface ThresholdOptions {
  threshold?: number;
  /** No effect with a bundle without a presence output. */
  presence_threshold?: number;
}

export interface Engine {
  bundle: Bundle;
  /** `<id>@<version>` */
  model: string;
  provider: ExecutionProvider;
  runner: ModelRunner;
  tokenizer: ClipTokenizer;
  /** Masks on the original image, before encoding. */
  predict(image: Uint8Array, phrases: readonly string[], options?: ThresholdOptions): Promise<PredictResult>;
  /** Masks encoded in the public result shape. */
  segment(image: Uint8Array, phrases: readonly string[], options?: ThresholdOptions & { format?: MaskFormat }): Promise<SegmentOutput>;
  close(): Promise<void>;
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { bundle, runner, tokenizer } = await loadBundle(options.bundleDir, {
    provider: options.provider ?? 'auto',
    threads: options.threads,
    log: options.log,
  });
  const { manifest } = bundle;
  const maxHeadBatch = Math.max(1, options.maxHeadBatch ?? 16);

  const predict: Engine['predict'] = async (image, phrases, predictOptions = {}) => {
    if (phrases.length === 0) throw new Error('predict: no phrases');
    const threshold = predictOptions.threshold ?? manifest.output.threshold;
    const presenceThreshold = predictOptions.presence_threshold ?? manifest.presence_threshold ?? 0; // unused without presence
    const start = performance.now();
    const prepared = await prepareImage(image, manifest.input);
    const tokens = tokenizer.tokenize(phrases, manifest.text.word_len); // [N, L]
    const preprocessed = performance.now();
    const [features] = await runner.encodeImages(prepared.tensor, 1);
    const encoded = performance.now();
    const L = manifest.text.word_len;
    const rows: { logits: Float32Array; presence: PresenceInput }[] = [];
    for (let first = 0; first < phrases.length; first += maxHeadBatch) {
      const count = Math.min(maxHeadBatch, phrases.length - first);
      const head = await runner.runHead(Array(count).fill(features), tokens.subarray(first * L, (first + count) * L)); // [B, G*G], [B]
      const rowSize = head.logits.length / count;
      for (let row = 0; row < count; row++) {
        rows.push({
          logits: head.logits.subarray(row * rowSize, (row + 1) * rowSize),
          presence: { logit: head.presence ? head.presence[row] : null, threshold: presenceThreshold },
        });
      }
    }
    const headDone = performance.now();
    const masks = rows.map((row) => logitsToPhraseMask(row.logits, prepared.transform, threshold, row.presence));
    const end = performance.now();
    return {
      width: prepared.transform.width,
      height: prepared.transform.height,
      masks,
      timing: {
        total_ms: end - start,
        preprocess_ms: preprocessed - start,
        image_encoder_ms: encoded - preprocessed,
        head_ms: headDone - encoded,
        postprocess_ms: end - headDone,
      },
    };
  };

  return {
    bundle,
    model: modelName(manifest),
    provider: runner.provider,
    runner,
    tokenizer,
    predict,
    async segment(image, phrases, segmentOptions = {}) {
      const { format: _format, ...thresholds } = segmentOptions;
      const predicted = await predict(image, phrases, thresholds);
      const encodeStart = performance.now();
      const format = segmentOptions.format ?? 'polygon';
      const results: PhraseResult[] = await Promise.all(
        predicted.masks.map(async (m, i) => phraseResult(phrases[i], m, await encodeMask(m, format))),
      );
      const encodeMs = performance.now() - encodeStart;
      const timing = {
        ...predicted.timing,
        postprocess_ms: predicted.timing.postprocess_ms + encodeMs,
        total_ms: predicted.timing.total_ms + encodeMs,
      };
      return { width: predicted.width, height: predicted.height, results, timing };
    },
    close: () => runner.close(),
  };
}

/** A PhraseMask and its encoding in the public result shape (the service's pipeline builds the same). */
export function phraseResult(text: string, m: PhraseMask, mask: Mask): PhraseResult {
  return { text, found: m.found, presence: m.presence, score: m.score, bbox: m.bbox, area: m.area, regions: m.regions, mask };
}
