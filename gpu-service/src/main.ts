/**
 * The composition root, and the only one: config -> worker threads (startWorkers) -> bundle +
 * tokenizer -> batcher, stores, metrics, pipeline and HTTP app (buildApp), listening at once so
 * probes see `starting` -> the workers attached -> warm-up at max batch (warmUp) -> ready;
 * SIGTERM/SIGINT drain, then exit (drainOnSignals). `npm run service` runs it.
 */
import { ConfigError, loadConfig, type ServiceConfig } from './config.js';
import { createLogger, type Logger } from './core/logger.js';
import { missingNodeFlags } from './boot/node-flags.js';
import { startWorkers, type Workers } from './boot/start-workers.js';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const since = () => Math.round(performance.now() - startedAt);
  let config: ServiceConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  if (config.insecureNoAuth) logger.warn('CRIS_INSECURE_NO_AUTH is set: requests are not authenticated');
  const missingFlags = missingNodeFlags();
  if (missingFlags.length > 0) logger.warn('node started without the service flags (gpu-service/node-flags.json): more CPU per request', { missing: missingFlags });

  // Everything else loads after the workers are spawned, so their start (the long pole:
  // onnxruntime sessions, then warm-up) overlaps the main thread's module loading.
  const workersStarting = startWorkers(config);
  workersStarting.catch(() => {}); // reported below
  const [{ createServer }, { readBundle }, { loadTokenizer }, { buildApp }, { warmUp }, { drainOnSignals }] = await Promise.all([
    import('node:http'),
    import('./bundle/index.js'),
    import('./tokenizer/index.js'),
    import('./boot/build-app.js'),
    import('./boot/warm-up.js'),
    import('./boot/shutdown.js'),
  ]);
  const bundle = await readBundle(config.bundleDir).catch((error: unknown) => fail(logger, 'bundle refused', error));
  logger.debug('bundle verified', { ms: since() });
  const tokenizer = await loadTokenizer(bundle);
  logger.debug('tokenizer loaded', { ms: since() });
  const serving = await buildApp(config, logger, bundle, tokenizer);
  const server = createServer(serving.nodeListener({ hostname: config.host })).listen(config.port, config.host);

  const workers: Workers = await workersStarting.catch((error: unknown) => fail(logger, 'worker threads failed to start', error));
  logger.debug('workers ready', { ms: since() });
  const { backend, imagingPool, fused } = workers;
  logger.info('inference backend', {
    provider: backend.provider,
    requested: config.provider,
    provider_note: backend.providerNote,
    workers: backend.concurrency,
    imaging_workers: fused ? 0 : imagingPool.concurrency,
    fuse_when_idle: !fused && config.fuseWhenIdle,
    model: serving.model,
  });
  if (config.provider !== 'auto' && backend.provider !== config.provider) {
    fail(logger, 'provider mismatch', new Error(`asked for ${config.provider}, running on ${backend.provider}`));
  }
  const scheduler = serving.attach(workers);

  const warmUpStart = performance.now();
  await warmUp(workers, bundle, tokenizer, config.batcher.maxBatch).catch((error: unknown) => fail(logger, 'warm-up failed', error));
  scheduler.start();
  serving.state.markReady();
  logger.info('ready', {
    url: `http://${config.host}:${config.port}`,
    warm_up_ms: Math.round(performance.now() - warmUpStart),
    start_ms: since(),
  });

  watchWorkers(workers, serving.state, logger);
  drainOnSignals({ timeoutMs: config.shutdownTimeoutMs, logger, state: serving.state, queued: () => serving.batcher.depth, scheduler, server, workers });
}

/** A dead worker cannot come back: report `failed`, then exit so the orchestrator restarts us. */
function watchWorkers(workers: Workers, state: { markFailed(reason: string): void }, logger: Logger): void {
  const watchdog = setInterval(() => {
    const failure = workers.backend.failure ?? workers.imagingPool.failure;
    if (!failure) return;
    clearInterval(watchdog);
    state.markFailed(failure);
    logger.error('worker threads failed', { reason: failure });
    setTimeout(() => process.exit(1), 1000).unref();
  }, 500);
  watchdog.unref();
}

function fail(logger: Logger, message: string, error: unknown): never {
  logger.error(message, { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

void main();
