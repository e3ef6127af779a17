/**
 * An InferenceBackend and Postprocessor that run on the calling thread. For tests and tools;
 * the service itself uses WorkerPools so neither blocks the event loop.
 */
import type { ExecutionProvider } from '../engine/types.js';
import type { InferenceDeps, PostprocessDeps } from './batch-executor.js';
import { postprocessItem, runInference } from './batch-executor.js';
import type { InferenceBackend, Postprocessor } from './pool.js';
import type { BatchInferenceOutput, BatchJob, PostprocessInput, PostprocessOutput } from './protocol.js';

export class InProcessBackend implements InferenceBackend, Postprocessor {
  readonly failure: string | undefined = undefined;

  constructor(
    private readonly deps: InferenceDeps & PostprocessDeps,
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

  close(): Promise<void> {
    return this.deps.runner.close();
  }
}
