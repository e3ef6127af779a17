/**
 * The pipeline in-process, for the `cris --local` CLI, the evaluation and tests: the bundle's
 * runner, tokenizer and imaging parts on the calling thread (InProcessBackend), composed by the
 * same segment pipeline the service runs over its worker pools: decode + letterbox once, the
 * image encoder once, the head over all phrases as one batch (runInference), post-processing
 * and mask encoding per phrase, the SegmentResult. Nothing is stored and nothing is cached.
 */
import type { MaskFormat, SegmentResult } from '../../../contract/segment.js';
import { modelName, type Bundle } from '../bundle/index.js';
import type { BatchItemInput } from '../core/jobs.js';
import type { ExecutionProvider, ModelRunner, PhraseMask, ProviderChoice } from '../core/types.js';
import { decodeRle } from '../masks/index.js';
import type { ClipTokenizer } from '../tokenizer/index.js';
import { FeatureCache } from './feature-cache.js';
import { imagingParts } from './imaging-parts.js';
import { InProcessBackend } from './in-process-backend.js';
import { loadBundle } from './load.js';
import { createSegmentPipeline } from './segment-pipeline.js';

export interface LocalPipelineOptions {
  bundleDir: string;
  provider?: ProviderChoice;
  threads?: number;
  /** Most head rows per onnxruntime run (default 16). */
  maxHeadBatch?: number;
  log?: (message: string) => void;
}

/** Per-call thresholds; the bundle's defaults when absent. */
export interface ThresholdOptions {
  threshold?: number;
  /** No effect with a bundle without a presence output. */
  presence_threshold?: number;
}

export interface PredictResult {
  width: number;
  height: number;
  /** One per phrase, in order. */
  masks: PhraseMask[];
  timing: SegmentResult['timing'];
}

export interface LocalPipeline {
  bundle: Bundle;
  /** `<id>@<version>` */
  model: string;
  provider: ExecutionProvider;
  runner: ModelRunner;
  tokenizer: ClipTokenizer;
  /** The public result shape (id `local`, never cached). */
  segment(image: Uint8Array, phrases: readonly string[], options?: ThresholdOptions & { format?: MaskFormat }): Promise<SegmentResult>;
  /** Masks on the original image as bitmaps, for the evaluation. */
  predict(image: Uint8Array, phrases: readonly string[], options?: ThresholdOptions): Promise<PredictResult>;
  close(): Promise<void>;
}

export async function createLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const { bundle, runner, tokenizer } = await loadBundle(options.bundleDir, {
    provider: options.provider ?? 'auto',
    threads: options.threads,
    log: options.log,
  });
  const { manifest } = bundle;
  const model = modelName(manifest);
  const maxBatch = Math.max(1, options.maxHeadBatch ?? 16);
  const backend = new InProcessBackend({ runner, cache: new FeatureCache({ maxEntries: 0, maxBytes: 0 }), ...imagingParts(manifest.input) });
  const segmentPipeline = createSegmentPipeline({
    model,
    defaultThreshold: manifest.output.threshold,
    defaultPresenceThreshold: manifest.presence_threshold,
    prepareImage: (bytes, originalSize, _job, sha256) => backend.prepare(bytes, originalSize, sha256),
    tokenize: (texts) => tokenizer.tokenize(texts, manifest.text.word_len),
    // No queue: the request is its own batch.
    submit: async (item: BatchItemInput) => {
      const output = await backend.run({ items: [item], maxBatch });
      return { item: output.items[0], stats: output.stats, queueMs: 0 };
    },
    postprocess: (input) => backend.postprocess(input),
  });

  const segment: LocalPipeline['segment'] = async (image, phrases, segmentOptions = {}) => {
    if (phrases.length === 0) throw new Error('segment: no phrases');
    const { format = 'polygon', threshold, presence_threshold } = segmentOptions;
    return (await segmentPipeline({ image, phrases: [...phrases], options: { format, threshold, presence_threshold }, resultKey: 'local' }, { wantPng: false })).result;
  };

  return {
    bundle,
    model,
    provider: runner.provider,
    runner,
    tokenizer,
    segment,
    async predict(image, phrases, thresholds = {}) {
      const result = await segment(image, phrases, { ...thresholds, format: 'rle' });
      const masks = result.results.map(({ mask, text: _text, ...phrase }): PhraseMask => {
        if (mask.format !== 'rle') throw new Error(`predict: asked for rle, got ${mask.format}`);
        return { ...phrase, mask: decodeRle(mask), width: result.width, height: result.height };
      });
      return { width: result.width, height: result.height, masks, timing: result.timing };
    },
    close: () => runner.close(),
  };
}
