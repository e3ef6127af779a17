/**
 * A WorkerPool worker with the real protocol and executeBatch but a FakeRunner: bundleDir
 * 'fail' refuses to start; an item with sha256 'crash' kills the thread mid-job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { executeBatch } from '../../gpu-service/src/worker/batch-executor.js';
import { FeatureCache } from '../../gpu-service/src/worker/feature-cache.js';
import type { FromWorker, ToWorker, WorkerInit } from '../../gpu-service/src/worker/protocol.js';
import { FakeRunner, fakeEncodeMask, fakePostprocess } from './service-fakes.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (message: FromWorker) => port.postMessage(message);

if (init.bundleDir === 'fail') {
  send({ type: 'init-error', message: 'bundle fail: manifest.json not found' });
} else {
  const deps = { runner: new FakeRunner(), cache: new FeatureCache(init.featureCache), postprocess: fakePostprocess, encodeMask: fakeEncodeMask };
  port.on('message', async (message: ToWorker) => {
    if (message.type === 'close') process.exit(0);
    if (message.job.items.some((item) => item.sha256 === 'crash')) process.exit(3);
    send({ type: 'result', id: message.id, output: await executeBatch(deps, message.job) });
  });
  send({ type: 'ready', provider: 'cpu' });
}
