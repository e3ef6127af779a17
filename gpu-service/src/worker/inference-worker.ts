/**
 * An inference worker thread: loads the bundle, creates its ModelRunner (the core's onnxruntime
 * adapter) and its feature cache, then runs batch jobs from the pool one at a time. Features
 * stay here; only masks and numbers go back.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { parseManifest, type Bundle } from '../bundle/index.js';
import type { ModelRunner } from '../engine/types.js';
import { createOnnxRunner } from '../inference/onnx-runner.js';
import { encodeMask, logitsToPhraseMask } from '../masks/index.js';
import { executeBatch, type ExecutorDeps } from './batch-executor.js';
import { FeatureCache } from './feature-cache.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;

function send(message: FromWorker): void {
  port.postMessage(message);
}

async function start(): Promise<void> {
  let runner: ModelRunner;
  try {
    const bundle = await openBundle(init.bundleDir);
    runner = await createOnnxRunner(bundle, { provider: init.provider, threads: init.threads || undefined });
  } catch (error) {
    send({ type: 'init-error', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const deps: ExecutorDeps = {
    runner,
    cache: new FeatureCache(init.featureCache),
    postprocess: logitsToPhraseMask,
    encodeMask,
  };
  // Jobs run one after another: the pool never sends a second before the first is answered,
  // and this chain keeps it so even if it did.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      queue = queue.then(async () => {
        await runner.close();
        process.exit(0);
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        send({ type: 'result', id: message.id, output: await executeBatch(deps, message.job) });
      } catch (error) {
        send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  send({ type: 'ready', provider: runner.provider });
}

/**
 * The bundle without re-hashing its files: the main thread runs the full check (readBundle,
 * sha256 of every file) in parallel and refuses to start on a mismatch; the runner still checks
 * the sessions against the manifest.
 */
async function openBundle(bundleDir: string): Promise<Bundle> {
  const dir = resolve(bundleDir);
  const manifest = parseManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')), dir);
  return { dir, manifest, path: (file) => join(dir, file) };
}

void start();
