/**
 * An InferenceBackend that runs batches on the calling thread. For tests and tools; the
 * service itself uses the WorkerPool so inference never blocks the event loop.
 */
import type { ExecutorDeps } from './batch-executor.js';
import { executeBatch } from './batch-executor.js';
import type { InferenceBackend } from './pool.js';
import type { BatchJob, BatchOutput } from './protocol.js';

export class InProcessBackend implements InferenceBackend {
  readonly failure: string | undefined = undefined;

  constructor(
    private readonly deps: ExecutorDeps,
    readonly concurrency = 1,
  ) {}

  get provider(): 'cuda' | 'cpu' {
    return this.deps.runner.provider;
  }

  run(job: BatchJob): Promise<BatchOutput> {
    return executeBatch(this.deps, job);
  }

  close(): Promise<void> {
    return this.deps.runner.close();
  }
}
