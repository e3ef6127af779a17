/**
 * One segmentation request from validated input to stored result:
 * prepare image (decode + letterbox) -> tokens -> batcher (an inference worker runs encoder +
 * head) -> a post-processing worker (logits -> masks) -> SegmentResult -> S3 (never fails the
 * request).
 */
import { ApiError } from '../../../contract/errors.js';
import type { MaskFormat, PhraseResult, SegmentResult } from '../../../contract/segment.js';
import type { ScheduledResult } from '../batcher/scheduler.js';
import type { PreparedImage } from '../engine/types.js';
import type { ResultStore } from '../storage/result-store.js';
import type { BatchItemInput, PostprocessInput, PostprocessOutput } from '../worker/protocol.js';
import type { SegmentRequest } from './segment-request.js';

export interface SegmentPipelineDeps {
  /** `<id>@<version>`. */
  model: string;
  defaultThreshold: number;
  /** The bundle's presence_threshold; absent for a bundle without a presence output. */
  defaultPresenceThreshold?: number;
  prepareImage(bytes: Uint8Array): Promise<PreparedImage>;
  /** [N, L] token ids. */
  tokenize(texts: readonly string[]): BigInt64Array;
  /** The batcher's append. */
  submit(item: BatchItemInput, rows: number, signal?: AbortSignal): Promise<ScheduledResult>;
  /** A post-processing pool's postprocess. */
  postprocess(input: PostprocessInput): Promise<PostprocessOutput>;
  store: ResultStore;
  now?: () => number;
}

export interface SegmentOutcome {
  result: SegmentResult;
  /** One PNG per phrase, present when PNG masks were asked for. */
  pngs?: Uint8Array[];
}

export type SegmentPipeline = (request: SegmentRequest, wantPng: boolean, signal?: AbortSignal) => Promise<SegmentOutcome>;

export function createSegmentPipeline(deps: SegmentPipelineDeps): SegmentPipeline {
  const now = deps.now ?? (() => performance.now());
  return async (request, wantPng, signal) => {
    const start = now();
    const prepared = await prepareOrReject(deps, request.image);
    const preprocessMs = now() - start;
    const tokens = deps.tokenize(request.phrases);
    const formats: MaskFormat[] = wantPng ? [request.options.format, 'png'] : [request.options.format];
    const item: BatchItemInput = {
      tensor: prepared.tensor,
      sha256: prepared.sha256,
      tokens,
      phraseCount: request.phrases.length,
    };
    const scheduled = await deps.submit(item, request.phrases.length, signal);
    const { stats } = scheduled;
    const output = await deps.postprocess({
      logits: scheduled.item.logits,
      phraseCount: request.phrases.length,
      presence: scheduled.item.presence,
      transform: prepared.transform,
      threshold: request.options.threshold ?? deps.defaultThreshold,
      // without a presence output (presence null) the threshold is not used
      presenceThreshold: request.options.presence_threshold ?? deps.defaultPresenceThreshold ?? 0,
      formats,
    });

    const results: PhraseResult[] = output.phrases.map((phrase, index) => ({
      text: request.phrases[index],
      found: phrase.found,
      presence: phrase.presence,
      score: phrase.score,
      bbox: phrase.bbox,
      area: phrase.area,
      regions: phrase.regions,
      mask: phrase.masks[request.options.format]!,
    }));
    const result: SegmentResult = {
      id: request.resultKey,
      model: deps.model,
      width: prepared.transform.width,
      height: prepared.transform.height,
      results,
      cached: false,
      timing: {
        total_ms: 0,
        queue_ms: round(scheduled.queueMs),
        preprocess_ms: round(preprocessMs),
        image_encoder_ms: round(stats.imageEncoderMs),
        head_ms: round(stats.headMs),
        postprocess_ms: round(output.postprocessMs),
      },
    };
    const pngs = formats.includes('png')
      ? output.phrases.map((phrase) => {
          const mask = phrase.masks.png;
          return mask && mask.format === 'png' ? new Uint8Array(Buffer.from(mask.data, 'base64')) : new Uint8Array(0);
        })
      : undefined;
    result.timing.total_ms = round(now() - start);
    await deps.store.put(deps.model, request.resultKey, result, pngs);
    return { result, pngs };
  };
}

async function prepareOrReject(deps: SegmentPipelineDeps, bytes: Uint8Array): Promise<PreparedImage> {
  try {
    return await deps.prepareImage(bytes);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // sharp's own messages ("Input buffer contains unsupported image format", "VipsJpeg: ...")
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) throw new ApiError('image_too_large', 'the image has too many pixels');
    throw new ApiError('invalid_image', 'the image could not be decoded');
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
