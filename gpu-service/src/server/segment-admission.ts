/**
 * What stands between a parsed request and the pipeline: coalescing (an identical request of the
 * same tenant already computing: wait for it, no second computation, no cost admitted), then
 * admission by cost (429 overloaded when the tenant's or the global budget is spent), then the
 * pipeline, the units released when it settles.
 */
import { requestCost, type CostBudget } from '../admission/cost-budget.js';
import { imageDimensions } from '../admission/image-dimensions.js';
import type { Coalesced, Coalescer } from './coalescer.js';
import type { SegmentJob, SegmentOutcome, SegmentPipeline } from '../pipeline/segment-pipeline.js';
import type { SegmentRequest } from '../core/jobs.js';

export interface AdmissionDeps {
  budget: CostBudget;
  coalescer: Coalescer<SegmentOutcome>;
  /** Called when a request starts a computation of its own (metrics). */
  onComputation?(): void;
}

export function runAdmitted(deps: AdmissionDeps, pipeline: SegmentPipeline, request: SegmentRequest, job: SegmentJob): Promise<Coalesced<SegmentOutcome>> {
  const tenant = job.tenant ?? '';
  const key = [tenant, request.resultKey, job.wantPng ? 'png' : 'json'].join('\n');
  return deps.coalescer.run(key, job.signal, async () => {
    const size = imageDimensions(request.image);
    const release = deps.budget.admit(tenant, requestCost(size ? size.width * size.height : undefined, request.phrases.length));
    try {
      deps.onComputation?.();
      return await pipeline(request, job);
    } finally {
      release();
    }
  });
}
