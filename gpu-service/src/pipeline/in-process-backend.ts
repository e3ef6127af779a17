/**
 * The backend on the calling thread: an InferenceBackend, Postprocessor and ImagePreparer over
 * the same parts a worker thread holds. For the CLIs, eval and tests; the service itself uses
 * WorkerPools so neither blocks the event loop.
 */
import type { Size } from '../../../contract/images.js';
import type { ImagePreparer, InferenceBackend, Postprocessor } from '../core/backend.js';
import type { BatchInferenceOutput, BatchJob, PostprocessInput, PostprocessOutput } from '../core/jobs.js';
import type { ExecutionProvider, PreparedImage } from '../core/types.js';
import type { InferenceDeps, PostprocessDeps } from './batch-executor.js';
import { postprocessItem, runInference } from './batch-executor.js';

export interface InProcessDeps extends InferenceDeps, PostprocessDeps {
  /** Image preparation, when the backend is asked to prepare (imaging-parts.ts). */
  prepare?: ImagePreparer['prepare'];
}

export class InProcessBackend implements InferenceBackend, Postprocessor, ImagePreparer {
  readonly failure: string | undefined = undefined;

  constructor(
    private readonly deps: InProcessDeps,
    readonly concurrency = 1,
  ) {}

  get provider(): ExecutionProvider {
    return this.deps.runner.provider;
  }

  run(job: BatchJob): Promise<BatchInferenceOutput> {
    return runInference(this.deps, job);
  }

  postprocess(input: PostprocessInput): Promise<PostprocessOutput> {
    return postprocessItem(this.deps, input);
  }

  prepare(bytes: Uint8Array, originalSize?: Size, sha256?: string): Promise<PreparedImage> {
    if (!this.deps.prepare) return Promise.reject(new Error('this in-process backend has no image preparation'));
    return this.deps.prepare(bytes, originalSize, sha256);
  }

  close(): Promise<void> {
    return this.deps.runner.close();
  }
}
