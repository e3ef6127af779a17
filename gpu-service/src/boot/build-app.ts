/**
 * Start-up, step 2, while the workers load: the batcher, metrics, lifecycle state, stores, the
 * segment pipeline and the HTTP app, wired to workers that are not there yet (`attach` hands
 * them over: the imaging queue and the batch scheduler run on them from then on).
 */
import { Registry } from 'prom-client';
import { CostBudget } from '../admission/cost-budget.js';
import { DynamicBatcher } from '../batcher/dynamic-batcher.js';
import { ImagingQueue } from '../batcher/imaging-queue.js';
import { BatchScheduler, type ScheduledResult } from '../batcher/scheduler.js';
import { modelName, type Bundle } from '../bundle/index.js';
import type { ServiceConfig } from '../config.js';
import type { BatchItemInput, BatchStats } from '../core/jobs.js';
import type { Logger } from '../core/logger.js';
import { createServiceMetrics, type ServiceMetrics } from '../metrics/service-metrics.js';
import { fusionPolicy } from '../pipeline/fusion-policy.js';
import { createSegmentPipeline } from '../pipeline/segment-pipeline.js';
import { createServiceHttp, type ServiceHttp } from '../server/app.js';
import { Coalescer } from '../server/coalescer.js';
import { ServiceState } from '../server/service-state.js';
import type { ClipTokenizer } from '../tokenizer/index.js';
import { createStores } from './stores.js';
import type { Workers } from './start-workers.js';

export interface Serving {
  app: ServiceHttp['app'];
  /** The Node server's request listener (the segment route straight on Node, the rest through `app`). */
  nodeListener: ServiceHttp['nodeListener'];
  model: string;
  state: ServiceState;
  batcher: DynamicBatcher<BatchItemInput, ScheduledResult>;
  /** Once the workers are ready: the imaging queue and the batch scheduler (not started) over them. */
  attach(workers: Workers): BatchScheduler;
}

export async function buildApp(config: ServiceConfig, logger: Logger, bundle: Bundle, tokenizer: ClipTokenizer): Promise<Serving> {
  const model = modelName(bundle.manifest);
  let workers: Workers | undefined;
  let scheduler: BatchScheduler | undefined;
  /** Prepare and post-process jobs in fair order across tenants. */
  let imaging: ImagingQueue | undefined;
  const batcher = new DynamicBatcher<BatchItemInput, ScheduledResult>({
    ...config.batcher,
    retryAfterSeconds: 1,
    idle: () => (scheduler?.inFlight ?? 0) === 0,
    onDrop: () => metrics.droppedRequests.inc(),
  });
  const metrics = createServiceMetrics(new Registry(), {
    queueDepth: () => batcher.depth,
    imagingQueueDepth: () => imaging?.depth ?? 0,
    batchesInFlight: () => scheduler?.inFlight ?? 0,
    provider: () => workers?.backend.provider,
    processMetrics: true,
  });
  const state = new ServiceState({
    queueDepth: () => batcher.depth,
    backendFailure: () => workers?.backend.failure ?? workers?.imagingPool.failure,
    busyQueueDepth: Math.max(1, Math.ceil(config.batcher.maxQueueSize * 0.8)),
  });
  const { store, images } = await createStores(config, logger, metrics);
  const wordLen = bundle.manifest.text.word_len;
  const fuse = fusionPolicy({
    imagingThreads: config.imagingWorkers > 0,
    whenIdle: config.fuseWhenIdle,
    idle: () => batcher.depth === 0 && (scheduler?.inFlight ?? 1) === 0 && imaging !== undefined && imaging.depth === 0 && imaging.inFlight === 0,
  });
  const segment = createSegmentPipeline({
    model,
    defaultThreshold: bundle.manifest.output.threshold,
    defaultPresenceThreshold: bundle.manifest.presence_threshold,
    prepareImage: (bytes, originalSize, job, sha256) => imaging!.prepare(bytes, originalSize, job, sha256),
    fused: (request) => {
      const fused = fuse(request);
      metrics.pipelineLayouts.inc({ layout: fused ? 'fused' : 'split' });
      return fused;
    },
    tokenize: (texts) => tokenizer.tokenize(texts, wordLen),
    submit: (item, rows, signal, tenant) => batcher.append(item, rows, signal, tenant),
    postprocess: (input, job) => imaging!.postprocess(input, job),
    store,
    images,
  });
  const http = createServiceHttp({
    auth: { secret: config.hmacSecret, insecureNoAuth: config.insecureNoAuth },
    model,
    segment,
    state,
    metrics,
    models: () => modelsSummary(bundle, model, workers?.backend.provider),
    requestTimeoutMs: config.requestTimeoutMs,
    logger,
    admission: { budget: new CostBudget({ ...config.costBudget, retryAfterSeconds: 1 }), coalescer: new Coalescer() },
  });
  return {
    app: http.app,
    nodeListener: http.nodeListener,
    model,
    state,
    batcher,
    attach(ready) {
      workers = ready;
      imaging = new ImagingQueue(ready.imagingPool, { concurrency: ready.imagingPool.concurrency, onDrop: () => metrics.droppedRequests.inc() });
      scheduler = new BatchScheduler(batcher, ready.backend, {
        maxBatch: config.batcher.maxBatch,
        onBatch: (stats) => recordBatch(metrics, stats),
        onError: (error) => logger.error('batch failed', { error: String(error) }),
      });
      return scheduler;
    },
  };
}

function recordBatch(metrics: ServiceMetrics, stats: BatchStats): void {
  metrics.batchSize.observe(stats.rows);
  if (stats.encodedImages > 0) metrics.inferenceSeconds.observe({ graph: 'image_encoder' }, stats.imageEncoderMs / 1000);
  if (stats.rows > 0) metrics.inferenceSeconds.observe({ graph: 'head' }, stats.headMs / 1000);
  metrics.featureCacheHits.inc(stats.cacheHits);
  metrics.featureCacheMisses.inc(stats.cacheMisses);
}

function modelsSummary(bundle: Bundle, model: string, provider: string | undefined): unknown {
  const manifest = bundle.manifest;
  return {
    models: [
      {
        model,
        id: manifest.id,
        version: manifest.version,
        precision: manifest.precision,
        input_size: manifest.input.size,
        word_len: manifest.text.word_len,
        threshold: manifest.output.threshold,
        presence_threshold: manifest.presence_threshold ?? null,
        provider: provider ?? null,
        source: manifest.provenance?.source ?? null,
        metrics: manifest.provenance?.metrics ?? null,
      },
    ],
  };
}
