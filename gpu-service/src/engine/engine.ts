/**
 * The in-process pipeline used by the CLIs and the evaluation: bundle -> runner + tokenizer, then
 * per call: decode + letterbox once, the image encoder once, the head once over all phrases as a
 * batch, post-processing and mask encoding per phrase. The pure parts live in imaging/, tokenizer/
 * and masks/; this file only wires them.
 */
import type { MaskFormat, PhraseResult } from '../../../contract/segment.js';
import { modelName, type Bundle } from '../bundle/index.js';
import { prepareImage } from '../imaging/index.js';
import { encodeMask, logitsToPhraseMask } from '../masks/index.js';
import type { ClipTokenizer } from '../tokenizer/index.js';
import { loadBundle } from './load.js';
import type { ExecutionProvider, ModelRunner, PhraseMask, ProviderChoice } from './types.js';

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

export interface Engine {
  bundle: Bundle;
  /** `<id>@<version>` */
  model: string;
  provider: ExecutionProvider;
  runner: ModelRunner;
  tokenizer: ClipTokenizer;
  /** Masks on the original image, before encoding. */
  predict(image: Uint8Array, phrases: readonly string[], options?: { threshold?: number }): Promise<PredictResult>;
  /** Masks encoded in the public result shape. */
  segment(image: Uint8Array, phrases: readonly string[], options?: { format?: MaskFormat; threshold?: number }): Promise<SegmentOutput>;
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
    const start = performance.now();
    const prepared = await prepareImage(image, manifest.input);
    const tokens = tokenizer.tokenize(phrases, manifest.text.word_len); // [N, L]
    const preprocessed = performance.now();
    const [features] = await runner.encodeImages(prepared.tensor, 1);
    const encoded = performance.now();
    const L = manifest.text.word_len;
    const rows: Float32Array[] = [];
    for (let first = 0; first < phrases.length; first += maxHeadBatch) {
      const count = Math.min(maxHeadBatch, phrases.length - first);
      const logits = await runner.runHead(Array(count).fill(features), tokens.subarray(first * L, (first + count) * L)); // [B, G*G]
      const rowSize = logits.length / count;
      for (let row = 0; row < count; row++) rows.push(logits.subarray(row * rowSize, (row + 1) * rowSize));
    }
    const headDone = performance.now();
    const masks = rows.map((row) => logitsToPhraseMask(row, prepared.transform, threshold));
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
      const predicted = await predict(image, phrases, { threshold: segmentOptions.threshold });
      const encodeStart = performance.now();
      const format = segmentOptions.format ?? 'polygon';
      const results: PhraseResult[] = await Promise.all(
        predicted.masks.map(async (m, i) => ({
          text: phrases[i],
          score: m.score,
          bbox: m.bbox,
          area: m.area,
          mask: await encodeMask(m, format),
        })),
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
