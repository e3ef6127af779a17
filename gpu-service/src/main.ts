/**
 * The composition root, and the only one: config -> bundle + tokenizer -> worker pool ->
 * batcher + scheduler -> result store -> metrics -> HTTP server; warm-up at max batch before
 * ready; SIGTERM/SIGINT drain the queue, then exit. `npm run service` runs it.
 */
import type { ScheduledResult } from './batcher/scheduler.js';
import type { Bundle } from './bundle/index.js';
import { ConfigError, loadConfig, type ServiceConfig } from './config.js';
import type { ServiceMetrics } from './metrics/service-metrics.js';
import { createLogger, type Logger } from './core/logger.js';
import type { ResultStore } from './storage/result-store.js';
import type { ImageStore } from './storage/image-store.js';
import type { ImagingQueue } from './batcher/imaging-queue.js';
import { WorkerPool } from './worker/pool.js';
import type { InferenceBackend } from './core/backend.js';
import type { BatchItemInput, BatchJob, BatchStats } from './core/jobs.js';

/**
 * Everything else loads after the workers are spawned, so the workers' start (the long pole:
 * onnxruntime sessions, then warm-up) overlaps the main thread's module loading.
 */
async function loadServingModules() {
  const [nodeServer, promClient, batcher, scheduler, bundle, imaging, metrics, app, pipeline, state, tokenizer, budget, coalescer, imagingQueue] = await Promise.all([
    import('@hono/node-server'),
    import('prom-client'),
    import('./batcher/dynamic-batcher.js'),
    import('./batcher/scheduler.js'),
    import('./bundle/index.js'),
    import('./imaging/affine.js'),
    import('./metrics/service-metrics.js'),
    import('./server/app.js'),
    import('./pipeline/segment-pipeline.js'),
    import('./server/service-state.js'),
    import('./tokenizer/index.js'),
    import('./admission/cost-budget.js'),
    import('./server/coalescer.js'),
    import('./batcher/imaging-queue.js'),
  ]);
  return {
    serve: nodeServer.serve,
    Registry: promClient.Registry,
    DynamicBatcher: batcher.DynamicBatcher,
    BatchScheduler: scheduler.BatchScheduler,
    readBundle: bundle.readBundle,
    modelName: bundle.modelName,
    letterboxTransform: imaging.letterboxTransform,
    createServiceMetrics: metrics.createServiceMetrics,
    createApp: app.createApp,
    createSegmentPipeline: pipeline.createSegmentPipeline,
    ServiceState: state.ServiceState,
    loadTokenizer: tokenizer.loadTokenizer,
    CostBudget: budget.CostBudget,
    Coalescer: coalescer.Coalescer,
    ImagingQueue: imagingQueue.ImagingQueue,
  };
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  let config: ServiceConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  if (config.insecureNoAuth) logger.warn('CRIS_INSECURE_NO_AUTH is set: requests are not authenticated');

  // The workers open the bundle (their runner checks the sessions against the manifest) while
  // the main thread verifies every file's sha256.
  const workerInit = { bundleDir: config.bundleDir, provider: config.provider, threads: config.threads, ortSpinning: config.ortSpinning, featureCache: config.featureCache };
  // CRIS_IMAGING_WORKERS=0: one pool whose workers hold both parts and run fused batches.
  const fused = config.imagingWorkers === 0;
  const workersStarting: Promise<[WorkerPool, WorkerPool]> = fused
    ? WorkerPool.start({ ...workerInit, role: 'both' }, config.workers).then((pool) => [pool, pool])
    : Promise.all([
        WorkerPool.start({ ...workerInit, role: 'inference' }, config.workers),
        WorkerPool.start({ ...workerInit, role: 'imaging' }, config.imagingWorkers),
      ]);
  workersStarting.catch(() => {}); // reported below
  const {
    serve,
    Registry,
    DynamicBatcher,
    BatchScheduler,
    readBundle,
    modelName,
    letterboxTransform,
    createServiceMetrics,
    createApp,
    createSegmentPipeline,
    ServiceState,
    loadTokenizer,
    CostBudget,
    Coalescer,
    ImagingQueue,
  } = await loadServingModules();
  const bundle = await readBundle(config.bundleDir).catch((error: unknown) => fail(logger, 'bundle refused', error));
  const model = modelName(bundle.manifest);
  const since = () => Math.round(performance.now() - startedAt);
  logger.debug('bundle verified', { ms: since() });
  const tokenizer = await loadTokenizer(bundle);
  logger.debug('tokenizer loaded', { ms: since() });
  const wordLen = bundle.manifest.text.word_len;

  const registry = new Registry();
  const batcher = new DynamicBatcher<BatchItemInput, ScheduledResult>({
    ...config.batcher,
    retryAfterSeconds: 1,
    idle: () => (scheduler?.inFlight ?? 0) === 0,
    onDrop: () => metrics.droppedRequests.inc(),
  });
  let scheduler: InstanceType<typeof BatchScheduler> | undefined;
  const metrics = createServiceMetrics(registry, {
    queueDepth: () => batcher.depth,
    imagingQueueDepth: () => imaging?.depth ?? 0,
    batchesInFlight: () => scheduler?.inFlight ?? 0,
    provider: () => backend?.provider,
    processMetrics: true,
  });
  let backend: InferenceBackend | undefined;
  let imagingPool: WorkerPool | undefined;
  /** Prepare and post-process jobs in fair order across tenants (split imaging threads only). */
  let imaging: ImagingQueue | undefined;
  const state = new ServiceState({
    queueDepth: () => batcher.depth,
    backendFailure: () => backend?.failure ?? imagingPool?.failure,
    busyQueueDepth: Math.max(1, Math.ceil(config.batcher.maxQueueSize * 0.8)),
  });
  const { store, images } = await createStores(config, logger, metrics);
  const segment = createSegmentPipeline({
    model,
    defaultThreshold: bundle.manifest.output.threshold,
    defaultPresenceThreshold: bundle.manifest.presence_threshold,
    prepareImage: (bytes, originalSize, job) => imaging!.prepare(bytes, originalSize, job),
    fused,
    tokenize: (texts) => tokenizer.tokenize(texts, wordLen),
    submit: (item, rows, signal, tenant) => batcher.append(item, rows, signal, tenant),
    postprocess: (input, job) => imaging!.postprocess(input, job),
    store,
    images,
  });
  const app = createApp({
    auth: { secret: config.hmacSecret, insecureNoAuth: config.insecureNoAuth },
    model,
    segment,
    state,
    metrics,
    models: () => modelsSummary(bundle, model, backend?.provider),
    requestTimeoutMs: config.requestTimeoutMs,
    logger,
    admission: { budget: new CostBudget({ ...config.costBudget, retryAfterSeconds: 1 }), coalescer: new Coalescer() },
  });
  // Listen at once, so probes see `starting` while the workers load and warm up.
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host });

  [backend, imagingPool] = await workersStarting.catch((error: unknown) => fail(logger, 'worker threads failed to start', error));
  imaging = new ImagingQueue(imagingPool, { concurrency: imagingPool.concurrency, onDrop: () => metrics.droppedRequests.inc() });
  logger.debug('workers ready', { ms: since() });
  logger.info('inference backend', {
    provider: backend.provider,
    requested: config.provider,
    provider_note: backend.providerNote,
    workers: backend.concurrency,
    imaging_workers: fused ? 0 : imagingPool.concurrency,
    model,
  });
  if (config.provider !== 'auto' && backend.provider !== config.provider) {
    fail(logger, 'provider mismatch', new Error(`asked for ${config.provider}, running on ${backend.provider}`));
  }
  scheduler = new BatchScheduler(batcher, backend, {
    maxBatch: config.batcher.maxBatch,
    onBatch: (stats) => recordBatch(metrics, stats),
    onError: (error) => logger.error('batch failed', { error: String(error) }),
  });

  // Warm-up: the inference workers at max batch, the imaging workers on a blank logits row,
  // side by side.
  const warmUpStart = performance.now();
  const size = bundle.manifest.input.size;
  const grid = size / bundle.manifest.output.stride;
  const warmUp = warmUpJob(size, config.batcher.maxBatch, tokenizer.tokenize(['warm up'], wordLen));
  await Promise.all([
    ...Array.from({ length: backend.concurrency }, () => backend!.run(warmUp())),
    ...Array.from({ length: imagingPool.concurrency }, () =>
      imagingPool!.postprocess({
        logits: new Float32Array(grid * grid), // [1, (S/stride)^2]
        phraseCount: 1,
        presence: null,
        transform: letterboxTransform(64, 48, size),
        threshold: bundle.manifest.output.threshold,
        presenceThreshold: 0,
        formats: ['polygon', 'rle', 'png'],
      }),
    ),
  ]).catch((error: unknown) => fail(logger, 'warm-up failed', error));
  scheduler.start();
  state.markReady();
  logger.info('ready', {
    url: `http://${config.host}:${config.port}`,
    warm_up_ms: Math.round(performance.now() - warmUpStart),
    start_ms: Math.round(performance.now() - startedAt),
  });

  // A dead worker cannot come back: report `failed`, then exit so the orchestrator restarts us.
  const watchdog = setInterval(() => {
    const failure = backend?.failure ?? imagingPool?.failure;
    if (!failure) return;
    clearInterval(watchdog);
    state.markFailed(failure);
    logger.error('worker threads failed', { reason: failure });
    setTimeout(() => process.exit(1), 1000).unref();
  }, 500);
  watchdog.unref();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    state.markDraining();
    logger.info('draining', { signal, accepted: state.activeRequests, queued: batcher.depth, in_flight: scheduler!.inFlight });
    // Every request accepted before the signal is answered (new ones get 503), then the
    // batcher closes; both bounded by the shutdown timeout.
    const drained = await Promise.race([
      state
        .idle()
        .then(() => scheduler!.drain())
        .then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), config.shutdownTimeoutMs).unref()),
    ]);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      setTimeout(resolve, 2000).unref();
    });
    await Promise.all([...new Set([backend!, imagingPool!])].map((pool) => pool.close()));
    logger.info('stopped', { drained });
    process.exit(drained ? 0 : 1);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** S3 when a bucket is configured (the AWS SDK is only loaded then), else nothing is stored. */
async function createStores(config: ServiceConfig, logger: Logger, metrics: ServiceMetrics): Promise<{ store?: ResultStore; images?: ImageStore }> {
  if (!config.s3) {
    logger.warn('CRIS_S3_BUCKET is not set: results and images are not stored');
    return {};
  }
  const [{ S3ResultStore, createS3Client }, { S3ImageStore }, { WriteRetryQueue }] = await Promise.all([
    import('./storage/result-store.js'),
    import('./storage/image-store.js'),
    import('./storage/write-retry.js'),
  ]);
  // Failed result writes retried for about 8.5 minutes (1 s doubling, 10 attempts), at most 1024 waiting.
  const retry = new WriteRetryQueue({
    maxEntries: 1024,
    maxAttempts: 10,
    baseDelayMs: 1000,
    onDrop: () => metrics.s3RetryDrops.inc(),
    onDepth: (depth) => metrics.s3RetryDepth.set(depth),
  });
  const options = {
    client: createS3Client(config.s3),
    bucket: config.s3.bucket,
    timeoutMs: config.s3.timeoutMs,
    logger,
    onFailure: () => metrics.s3WriteFailures.inc(),
  };
  return { store: new S3ResultStore({ ...options, retry }), images: new S3ImageStore(options) };
}

function recordBatch(metrics: ServiceMetrics, stats: BatchStats): void {
  metrics.batchSize.observe(stats.rows);
  if (stats.encodedImages > 0) metrics.inferenceSeconds.observe({ graph: 'image_encoder' }, stats.imageEncoderMs / 1000);
  if (stats.rows > 0) metrics.inferenceSeconds.observe({ graph: 'head' }, stats.headMs / 1000);
  metrics.featureCacheHits.inc(stats.cacheHits);
  metrics.featureCacheMisses.inc(stats.cacheMisses);
}

/** A job at max batch: maxBatch distinct blank images, one phrase each; bypasses the cache. */
function warmUpJob(size: number, maxBatch: number, tokens: BigInt64Array): () => BatchJob {
  return () => ({
    maxBatch,
    bypassCache: true,
    items: Array.from({ length: maxBatch }, (_, index) => ({
      tensor: new Float32Array(3 * size * size), // [3, S, S]
      sha256: `warm-up-${index}`,
      tokens: tokens.slice(),
      phraseCount: 1,
    })),
  });
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

function fail(logger: Logger, message: string, error: unknown): never {
  logger.error(message, { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

void main();
