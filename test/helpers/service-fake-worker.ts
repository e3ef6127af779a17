/**
 * A WorkerPool worker with the real protocol and executor but a FakeRunner and fake imaging:
 * bundleDir 'fail' refuses to start; an item with sha256 'crash' kills the thread mid-job; image
 * bytes starting with 0xff are "not an image" (an ApiError). Its ready message's providerNote
 * says the size of its V8 new space (what WorkerPool's resource limits gave it).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { postprocessItem, runInference } from '../../gpu-service/src/pipeline/batch-executor.js';
import { FeatureCache } from '../../gpu-service/src/pipeline/feature-cache.js';
import type { FromWorker, ToWorker, WorkerInit } from '../../gpu-service/src/worker/protocol.js';
import { FAKE_SIZE, FakeRunner, fakeEncodeMask, fakePostprocess } from './service-fakes.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (message: FromWorker) => port.postMessage(message);

if (init.bundleDir === 'fail') {
  send({ type: 'init-error', message: 'bundle fail: manifest.json not found' });
} else {
  const inference = { runner: new FakeRunner(), cache: new FeatureCache(init.featureCache) };
  const post = { postprocess: fakePostprocess, encodeMask: fakeEncodeMask };
  port.on('message', async (message: ToWorker) => {
    if (message.type === 'close') process.exit(0);
    if (message.type === 'prepare') {
      if (message.bytes[0] === 0xff) {
        send({ type: 'error', id: message.id, message: 'not an image', code: 'invalid_image' });
        return;
      }
      const tensor = new Float32Array(3 * FAKE_SIZE * FAKE_SIZE).fill(message.bytes[0]);
      const transform = { scale: 1, offsetX: 0, offsetY: 0, width: 640, height: 480, size: FAKE_SIZE };
      send({ type: 'result', id: message.id, output: { tensor, transform, sha256: `sha-${message.bytes[0]}` } });
      return;
    }
    if (message.type === 'postprocess') {
      send({ type: 'result', id: message.id, output: await postprocessItem(post, message.input) });
      return;
    }
    if (message.job.items.some((item) => item.sha256 === 'crash')) process.exit(3);
    send({ type: 'result', id: message.id, output: await runInference(inference, message.job) });
  });
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  send({ type: 'ready', provider: 'cpu', providerNote: `new_space ${newSpace?.space_size}` });
}
