/**
 * What the pipeline runs on: a worker pool (worker/pool.ts) in the service, the same parts
 * in-process (pipeline/in-process-backend.ts) in the CLIs, eval and tests.
 */
import type { Size } from '../../../contract/images.js';
import type { BatchInferenceOutput, BatchJob, PostprocessInput, PostprocessOutput } from './jobs.js';
import type { ExecutionProvider, PreparedImage } from './types.js';

/** What the batch scheduler runs jobs on (a worker pool, or in-process in tests). */
export interface InferenceBackend {
  readonly provider: ExecutionProvider;
  /** Why `provider` was chosen, when the runner said (e.g. what `auto` found unavailable). */
  readonly providerNote?: string;
  /** Jobs that can run at once. */
  readonly concurrency: number;
  /** Set once a worker has died; the service then reports `failed`. */
  readonly failure: string | undefined;
  run(job: BatchJob): Promise<BatchInferenceOutput>;
  close(): Promise<void>;
}

/** Turns one request's logits into its masks (a post-processing pool, or in-process in tests). */
export interface Postprocessor {
  postprocess(input: PostprocessInput): Promise<PostprocessOutput>;
}

/** Image bytes -> network input (an imaging pool, or in-process in tests). */
export interface ImagePreparer {
  /**
   * originalSize: the photo the bytes were shrunk from (the transform maps to it); sha256: the
   * bytes' hex sha256 when the caller has it already (else it is computed).
   */
  prepare(bytes: Uint8Array, originalSize?: Size, sha256?: string): Promise<PreparedImage>;
}
