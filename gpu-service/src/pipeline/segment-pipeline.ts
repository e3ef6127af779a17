/**
 * One segmentation request from validated input to stored result:
 * prepare image (decode + letterbox) -> tokens -> batcher (an inference worker runs encoder +
 * head) -> a post-processing worker (logits -> masks) -> SegmentResult -> S3 (never fails the
 * request). Fused (no imaging threads, or a lone small request: fusion-policy.ts): tokens ->
 * batcher -> one worker prepares, infers and makes the masks of the whole batch. The imaging
 * jobs (prepare, post-process) carry the request's tenant and signal: the imaging queue runs
 * them in fair order across tenants. The request's deadline is checked before and between
 * stages (the imaging queue and the batcher drop it while queued, the inference worker before
 * decoding, the encoder and the head): a request past it is answered 504 and its result is
 * never stored.
 */
import { hash } from 'node:crypto';
import { ApiError } from '../../../contract/errors.js';
import type { Size } from '../../../contract/images.js';
import type { Mask, MaskFormat, PhraseResult, SegmentResult } from '../../../contract/segment.js';
import type { ImagingJob } from '../batcher/imaging-queue.js';
import type { ScheduledResult } from '../batcher/scheduler.js';
import type { BatchItemInput, PhraseOutput, PostprocessInput, PostprocessOutput, PostprocessParams, SegmentRequest } from '../core/jobs.js';
import type { LetterboxTransform, PreparedImage } from '../core/types.js';
import { imageFailure } from '../imaging/image-failure.js';
import type { ImageStore } from '../storage/image-store.js';
import type { ResultStore } from '../storage/result-store.js';
import { checkDeadline } from './deadline.js';

export interface SegmentPipelineDeps {
  /** `<id>@<version>`. */
  model: string;
  defaultThreshold: number;
  /** The bundle's presence_threshold; absent for a bundle without a presence output. */
  defaultPresenceThreshold?: number;
  /**
   * originalSize: the photo the upload was shrunk from (masks at its size); job: whose it is and
   * its deadline (the imaging queue's fair order, dropped once the deadline passed).
   */
  prepareImage(bytes: Uint8Array, originalSize?: Size, job?: ImagingJob, sha256?: string): Promise<PreparedImage>;
  /**
   * Whether this request runs fused: the inference worker prepares its image and makes its masks
   * too (BatchItemInput.raw), one thread round trip; prepareImage and postprocess are then not
   * used for it (pipeline/fusion-policy.ts decides). Split when absent.
   */
  fused?: (request: SegmentRequest) => boolean;
  /** [N, L] token ids. */
  tokenize(texts: readonly string[]): BigInt64Array;
  /** The batcher's append. */
  submit(item: BatchItemInput, rows: number, signal?: AbortSignal, tenant?: string): Promise<ScheduledResult>;
  /** A post-processing pool's postprocess (through the imaging queue, like prepareImage). */
  postprocess(input: PostprocessInput, job?: ImagingJob): Promise<PostprocessOutput>;
  /** Where results go; nothing is stored without one (no S3 bucket, the CLIs). */
  store?: ResultStore;
  /** Where uploads are kept for `image_id` when the edge asks (storeImage). */
  images?: ImageStore;
  now?: () => number;
}

export interface SegmentOutcome {
  result: SegmentResult;
  /** One PNG per phrase, present when PNG masks were asked for. */
  pngs?: Uint8Array[];
}

/** How one request runs: its answer format, its tenant, its deadline. */
export interface SegmentJob {
  wantPng: boolean;
  /** The edge's API key id ('' when unsigned). */
  tenant?: string;
  /** Unix ms; the inference worker skips the request past it. */
  deadlineMs?: number;
  /** Fires at the deadline or when the client leaves. */
  signal?: AbortSignal;
}

export type SegmentPipeline = (request: SegmentRequest, job: SegmentJob) => Promise<SegmentOutcome>;

export function createSegmentPipeline(deps: SegmentPipelineDeps): SegmentPipeline {
  const now = deps.now ?? (() => performance.now());
  return async (request, job) => {
    const { wantPng, signal } = job;
    const start = now();
    checkDeadline(signal, 'before decoding');
    // The image's id (the parser's hash when it made one), and a copy to keep for image_id: the bytes go to a worker thread (transferred when they own their buffer, so detached here).
    const imageId = request.imageSha256 ?? hash('sha256', request.image, 'hex');
    const keep = request.storeImage && deps.images ? request.image.slice() : undefined;
    const formats: MaskFormat[] = wantPng ? [request.options.format, 'png'] : [request.options.format];
    const params: PostprocessParams = {
      threshold: request.options.threshold ?? deps.defaultThreshold,
      // without a presence output (presence null) the threshold is not used
      presenceThreshold: request.options.presence_threshold ?? deps.defaultPresenceThreshold ?? 0,
      formats,
    };
    const { scheduled, transform, preprocessMs, output } = deps.fused?.(request)
      ? await runFused(deps, request, imageId, params, job)
      : await runSplit(deps, request, imageId, params, now, job);
    const { stats } = scheduled;

    const results = output.phrases.map((phrase, index) => phraseResult(request.phrases[index], phrase, phrase.masks[request.options.format]!));
    const result: SegmentResult = {
      id: request.resultKey,
      image_id: imageId,
      model: deps.model,
      width: transform.width,
      height: transform.height,
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
    checkDeadline(signal, 'before storing'); // a late result stored would be a free hit on the retry
    // Kept only once it decoded and was answered; written next to the result.
    const imageStored = keep && deps.images!.put(request.storeImage!.key, keep, request.storeImage!.expiresAt, request.options.original_size);
    await Promise.all([deps.store?.put(deps.model, request.resultKey, result, pngs), imageStored]);
    return { result, pngs };
  };
}

/** A phrase's outcome and its mask in the public result shape (the one place a PhraseResult is made). */
export function phraseResult(text: string, phrase: Omit<PhraseOutput, 'masks'>, mask: Mask): PhraseResult {
  return { text, found: phrase.found, presence: phrase.presence, score: phrase.score, bbox: phrase.bbox, area: phrase.area, regions: phrase.regions, mask };
}

interface Answered {
  scheduled: ScheduledResult;
  transform: LetterboxTransform;
  preprocessMs: number;
  output: PostprocessOutput;
}

/** Imaging threads apart from inference: prepare, then the batch, then post-processing. */
async function runSplit(deps: SegmentPipelineDeps, request: SegmentRequest, imageId: string, params: PostprocessParams, now: () => number, job: SegmentJob): Promise<Answered> {
  const start = now();
  let prepared: PreparedImage;
  try {
    prepared = await deps.prepareImage(request.image, request.options.original_size, job, imageId);
  } catch (error) {
    throw imageFailure(error);
  }
  const preprocessMs = now() - start;
  checkDeadline(job.signal, 'before the queue');
  const phraseCount = request.phrases.length;
  const item: BatchItemInput = { tensor: prepared.tensor, sha256: prepared.sha256, owner: job.tenant ?? '', tokens: deps.tokenize(request.phrases), phraseCount, deadlineMs: job.deadlineMs };
  const scheduled = await inferred(deps, item, job);
  const output = await deps.postprocess({ ...params, logits: scheduled.item.logits, presence: scheduled.item.presence, phraseCount, transform: prepared.transform }, job);
  return { scheduled, transform: prepared.transform, preprocessMs, output };
}

/** One worker does it all: the encoded image rides in the batch and the masks come back with it. */
async function runFused(deps: SegmentPipelineDeps, request: SegmentRequest, imageId: string, params: PostprocessParams, job: SegmentJob): Promise<Answered> {
  const phraseCount = request.phrases.length;
  const item: BatchItemInput = {
    tensor: new Float32Array(0), // prepared in the worker
    sha256: '',
    owner: job.tenant ?? '',
    tokens: deps.tokenize(request.phrases),
    phraseCount,
    raw: { bytes: request.image, originalSize: request.options.original_size, sha256: imageId, ...params },
    deadlineMs: job.deadlineMs,
  };
  const scheduled = await inferred(deps, item, job);
  const fused = scheduled.item.fused;
  if (!fused) throw new Error('a fused batch item came back without its answer');
  if ('error' in fused) throw new ApiError(fused.error.code, fused.error.message);
  return { scheduled, ...fused };
}

/** The batch's answer for one item; 504 when its deadline passed before or during inference. */
async function inferred(deps: SegmentPipelineDeps, item: BatchItemInput, job: SegmentJob): Promise<ScheduledResult> {
  const scheduled = await deps.submit(item, item.phraseCount, job.signal, job.tenant);
  checkDeadline(job.signal, 'after inference');
  if (scheduled.item.expired) throw new ApiError('timeout', 'the deadline passed before inference ran', 1);
  return scheduled;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
