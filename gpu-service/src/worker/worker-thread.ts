/**
 * A worker thread of the service, in one of two roles (WorkerInit.role):
 *   inference  loads the bundle, creates its ModelRunner (the core's onnxruntime adapter) and
 *              its feature cache, and runs batch jobs: logits out, features kept here;
 *   imaging    image bytes -> network input (decode, letterbox, normalise), and one request's
 *              logits -> masks (sigmoid, upsample, inverse letterbox, threshold, encodings), so
 *              neither the event loop nor inference waits for pixel work.
 *   both       the two in one worker: batches whose items carry their encoded image come back
 *              as masks (fused-job.ts), one thread hop per batch; either instead of imaging
 *              threads (CRIS_IMAGING_WORKERS=0) or beside them, for lone small requests
 *              (pipeline/fusion-policy.ts; other items of a batch come as prepared tensors).
 * Jobs run one after another in arrival order.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { ApiError } from '../../../contract/errors.js';
import type { Bundle } from '../bundle/index.js';
import type { ExecutionProvider } from '../core/types.js';
import { postprocessItem, runInference, type InferenceDeps } from '../pipeline/batch-executor.js';
import { FeatureCache } from '../pipeline/feature-cache.js';
import { runFusedJob } from '../pipeline/fused-job.js';
import type { ImagingParts } from '../pipeline/imaging-parts.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';
import { transferables } from './protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/**
 * The bundle without re-hashing its files: the main thread runs the full check (readBundle,
 * sha256 of every file) in parallel and refuses to start on a mismatch; the runner still checks
 * the sessions against the manifest.
 */
async function openBundle(): Promise<Bundle> {
  const { parseManifest } = await import('../bundle/index.js');
  const dir = resolve(init.bundleDir);
  const manifest = parseManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')), dir);
  return { dir, manifest, path: (file) => join(dir, file) };
}

async function startInference(): Promise<{ deps: InferenceDeps; provider: ExecutionProvider; providerNote: string }> {
  const [bundle, { createOnnxRunner }] = await Promise.all([openBundle(), import('../inference/onnx-runner.js')]);
  const notes: string[] = [];
  const runner = await createOnnxRunner(bundle, {
    provider: init.provider,
    threads: init.threads || undefined,
    spinning: init.ortSpinning,
    log: (line) => notes.push(line),
  });
  return { deps: { runner, cache: new FeatureCache(init.featureCache) }, provider: runner.provider, providerNote: notes.join('; ') };
}

/** The imaging parts, with this thread's scratch arrays (one pool: jobs here run one at a time). */
async function startImaging(): Promise<ImagingParts> {
  const [bundle, { imagingParts }, { ArrayPool }] = await Promise.all([openBundle(), import('../pipeline/imaging-parts.js'), import('../core/array-pool.js')]);
  return imagingParts(bundle.manifest.input, new ArrayPool());
}

async function start(): Promise<void> {
  let inference: InferenceDeps | undefined;
  let imaging: ImagingParts | undefined;
  let provider: ExecutionProvider = 'cpu';
  let providerNote: string | undefined;
  try {
    if (init.role !== 'imaging') ({ deps: inference, provider, providerNote } = await startInference());
    if (init.role !== 'inference') imaging = await startImaging();
  } catch (error) {
    send({ type: 'init-error', message: error instanceof Error ? error.message : String(error) });
    return;
  }

  const fused = inference && imaging ? { ...inference, ...imaging } : undefined;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: ToWorker) => {
    queue = queue.then(async () => {
      if (message.type === 'close') {
        await inference?.runner.close();
        process.exit(0);
      }
      try {
        if (message.type === 'run' && inference) {
          // A worker with both parts runs fused batches (items with their encoded image).
          const output = fused ? await runFusedJob(fused, message.job) : await runInference(inference, message.job);
          send({ type: 'result', id: message.id, output }, transferables(output.items.flatMap((item) => (item.presence ? [item.logits, item.presence] : [item.logits]))));
        } else if (message.type === 'postprocess' && imaging) {
          send({ type: 'result', id: message.id, output: await postprocessItem(imaging, message.input) });
        } else if (message.type === 'prepare' && imaging) {
          const output = await imaging.prepare(message.bytes, message.originalSize, message.sha256);
          send({ type: 'result', id: message.id, output }, transferables([output.tensor]));
        } else {
          throw new Error(`a ${init.role} worker cannot run '${message.type}' jobs`);
        }
      } catch (error) {
        const code = error instanceof ApiError ? error.code : undefined;
        send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error), code });
      }
    });
  });
  send({ type: 'ready', provider, providerNote });
}

void start();
