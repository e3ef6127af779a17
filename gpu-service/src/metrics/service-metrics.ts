/**
 * The service's Prometheus metrics, on a registry the composition root creates (never
 * prom-client's global default), so tests and several app instances do not share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  errors: Counter<'code'>;
  queueDepth: Gauge;
  imagingQueueDepth: Gauge;
  batchesInFlight: Gauge;
  executionProvider: Gauge<'provider'>;
  droppedRequests: Counter;
  batchSize: Histogram;
  inferenceSeconds: Histogram<'graph'>;
  featureCacheHits: Counter;
  featureCacheMisses: Counter;
  s3WriteFailures: Counter;
  requestSeconds: Histogram<'route'>;
  computations: Counter;
  s3RetryDepth: Gauge;
  s3RetryDrops: Counter;
  coalescedRequests: Counter;
  pipelineLayouts: Counter<'layout'>;
}

export interface MetricsOptions {
  /** Read at scrape time. */
  queueDepth?: () => number;
  /** Imaging jobs (prepare, post-process) waiting for an imaging thread. */
  imagingQueueDepth?: () => number;
  batchesInFlight?: () => number;
  /** The onnxruntime execution provider in use (undefined until the workers are ready). */
  provider?: () => string | undefined;
  /** Also export Node process metrics (CPU, memory, event-loop lag). */
  processMetrics?: boolean;
}

export function createServiceMetrics(registry: Registry = new Registry(), options: MetricsOptions = {}): ServiceMetrics {
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'cris_' });
  const depthSource = options.queueDepth;
  const imagingDepthSource = options.imagingQueueDepth;
  const inFlightSource = options.batchesInFlight;
  const providerSource = options.provider;
  return {
    registry,
    requests: new Counter({
      name: 'cris_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'cris_errors_total',
      help: 'Error responses by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'cris_queue_depth',
      help: 'Requests waiting in the batcher queue',
      registers: [registry],
      collect() {
        if (depthSource) this.set(depthSource());
      },
    }),
    imagingQueueDepth: new Gauge({
      name: 'cris_imaging_queue_depth',
      help: 'Imaging jobs (decode + letterbox, logits -> masks) waiting for an imaging thread',
      registers: [registry],
      collect() {
        if (imagingDepthSource) this.set(imagingDepthSource());
      },
    }),
    batchesInFlight: new Gauge({
      name: 'cris_batches_in_flight',
      help: 'Batches running on the inference workers',
      registers: [registry],
      collect() {
        if (inFlightSource) this.set(inFlightSource());
      },
    }),
    executionProvider: new Gauge({
      name: 'cris_execution_provider',
      help: 'onnxruntime execution provider the inference workers run on (1 for the one in use)',
      labelNames: ['provider'] as const,
      registers: [registry],
      collect() {
        this.reset();
        const provider = providerSource?.();
        if (provider) this.set({ provider }, 1);
      },
    }),
    droppedRequests: new Counter({
      name: 'cris_dropped_requests_total',
      help: 'Queued requests dropped before they ran (client gone or request timeout)',
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'cris_batch_size',
      help: 'Head rows (phrases) per batch',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    inferenceSeconds: new Histogram({
      name: 'cris_inference_seconds',
      help: 'Time per graph run of a batch',
      labelNames: ['graph'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    featureCacheHits: new Counter({
      name: 'cris_feature_cache_hits_total',
      help: 'Images whose features came from the LRU',
      registers: [registry],
    }),
    featureCacheMisses: new Counter({
      name: 'cris_feature_cache_misses_total',
      help: 'Images the encoder had to run for',
      registers: [registry],
    }),
    s3WriteFailures: new Counter({
      name: 'cris_s3_write_failures_total',
      help: 'Result objects that could not be written to S3',
      registers: [registry],
    }),
    s3RetryDepth: new Gauge({
      name: 'cris_s3_retry_queue_depth',
      help: 'Failed result writes waiting for their next attempt',
      registers: [registry],
    }),
    s3RetryDrops: new Counter({
      name: 'cris_s3_retry_drops_total',
      help: 'Failed result writes given up (retry queue full, or out of attempts)',
      registers: [registry],
    }),
    computations: new Counter({
      name: 'cris_computations_total',
      help: 'Segment requests that started a computation of their own (not coalesced)',
      registers: [registry],
    }),
    coalescedRequests: new Counter({
      name: 'cris_coalesced_requests_total',
      help: 'Segment requests answered with the computation of an identical concurrent request of the same tenant',
      registers: [registry],
    }),
    pipelineLayouts: new Counter({
      name: 'cris_pipeline_layout_total',
      help: 'Computations by layout: fused (imaging inside the inference worker) or split (imaging threads apart)',
      labelNames: ['layout'] as const,
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'cris_request_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
