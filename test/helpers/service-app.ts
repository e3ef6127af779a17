/**
 * The service's HTTP app over fakes (in-process backend, fake decoding and tokens, an in-memory
 * store) for the unit suites: server.test.ts and server-tenancy.test.ts.
 */
import { expect } from 'vitest';
import { ApiError } from '../../contract/errors.js';
import { DynamicBatcher } from '../../gpu-service/src/batcher/dynamic-batcher.js';
import { BatchScheduler, type ScheduledResult } from '../../gpu-service/src/batcher/scheduler.js';
import type { PreparedImage } from '../../gpu-service/src/core/types.js';
import { createServiceMetrics } from '../../gpu-service/src/metrics/service-metrics.js';
import { createServiceHttp, type AppDeps, type ServiceHttp } from '../../gpu-service/src/server/app.js';
import { silentLogger } from './service-reference.js';
import { createSegmentPipeline } from '../../gpu-service/src/pipeline/segment-pipeline.js';
import { ServiceState } from '../../gpu-service/src/server/service-state.js';
import type { ResultStore } from '../../gpu-service/src/storage/result-store.js';
import { FeatureCache } from '../../gpu-service/src/pipeline/feature-cache.js';
import { InProcessBackend } from '../../gpu-service/src/pipeline/in-process-backend.js';
import type { BatchItemInput } from '../../gpu-service/src/core/jobs.js';
import { FAKE_SIZE, FAKE_WORD_LEN, FakeRunner, fakeEncodeMask, fakePostprocess } from './service-fakes.js';

export const SECRET = 'unit-test-secret-0123456789';
export const MODEL = 'fake-model@1.0.0';
export const IMAGE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

export interface Harness {
  app: ServiceHttp['app'];
  /** The Node server's listener over the same app (main.ts serves it). */
  nodeListener: ServiceHttp['nodeListener'];
  runner: FakeRunner;
  stored: { model: string; key: string; pngs?: Uint8Array[] }[];
  state: ServiceState;
  scheduler: BatchScheduler;
  metrics: ReturnType<typeof createServiceMetrics>;
}

export interface HarnessOptions {
  maxQueueSize?: number;
  maxBodyBytes?: number;
  ready?: boolean;
  requestTimeoutMs?: number;
  admission?: AppDeps['admission'];
  /** Delay of the fake decode, per image (its first byte). */
  prepareDelayMs?: (firstByte: number) => number;
}

const harnesses: Harness[] = [];
/** Call from afterEach: releases held batches and drains every harness made since. */
export async function drainHarnesses(): Promise<void> {
  for (const harness of harnesses.splice(0)) {
    harness.runner.gate = undefined;
    await harness.scheduler.drain();
  }
}

/** Fake image decoding: bytes starting with 0xff are "not an image". */
async function fakePrepare(bytes: Uint8Array): Promise<PreparedImage> {
  if (bytes[0] === 0xff) throw new ApiError('invalid_image', 'not an image');
  if (bytes[0] === 0xfe) throw new Error('secret internal detail /etc/passwd');
  return {
    tensor: new Float32Array(3 * FAKE_SIZE * FAKE_SIZE).fill(bytes[0]),
    transform: { scale: 1, offsetX: 0, offsetY: 0, width: 640, height: 480, size: FAKE_SIZE },
    sha256: `sha-${bytes[0]}`,
  };
}

export function harness(options: HarnessOptions = {}): Harness {
  const runner = new FakeRunner();
  const backend = new InProcessBackend({
    runner,
    cache: new FeatureCache({ maxEntries: 4, maxBytes: 1 << 20 }),
    postprocess: fakePostprocess,
    encodeMask: fakeEncodeMask,
  });
  const batcher = new DynamicBatcher<BatchItemInput, ScheduledResult>({ maxBatch: 4, maxQueueDelayMs: 1, maxQueueSize: options.maxQueueSize ?? 16 });
  const scheduler = new BatchScheduler(batcher, backend, { maxBatch: 4 });
  scheduler.start();
  const stored: Harness['stored'] = [];
  const store: ResultStore = {
    async put(model, key, _result, pngs) {
      stored.push({ model, key, pngs });
      return true;
    },
  };
  const state = new ServiceState({ queueDepth: () => batcher.depth, backendFailure: () => undefined, busyQueueDepth: 8 });
  if (options.ready !== false) state.markReady();
  const metrics = createServiceMetrics(undefined, { queueDepth: () => batcher.depth });
  const segment = createSegmentPipeline({
    model: MODEL,
    defaultThreshold: 0.35,
    prepareImage: async (bytes) => {
      const delay = options.prepareDelayMs?.(bytes[0]) ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      return fakePrepare(bytes);
    },
    tokenize: (texts) => {
      if (texts.includes('explode')) throw new Error('secret internal detail /etc/passwd');
      const tokens = new BigInt64Array(texts.length * FAKE_WORD_LEN);
      texts.forEach((text, row) => (tokens[row * FAKE_WORD_LEN] = BigInt(text.length)));
      return tokens;
    },
    submit: (item, rows, signal, tenant) => batcher.append(item, rows, signal, tenant),
    postprocess: (input) => backend.postprocess(input),
    store,
  });
  const { app, nodeListener } = createServiceHttp({
    auth: { secret: SECRET, insecureNoAuth: false },
    model: MODEL,
    segment,
    state,
    metrics,
    models: () => ({ models: [{ model: MODEL }] }),
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    logger: silentLogger,
    maxBodyBytes: options.maxBodyBytes,
    admission: options.admission,
  });
  const built = { app, nodeListener, runner, stored, state, scheduler, metrics };
  harnesses.push(built);
  return built;
}

/** Holds the fake runner's batches until the returned function is called. */
export function hold(h: Harness): () => void {
  let release!: () => void;
  h.runner.gate = new Promise<void>((resolve) => (release = resolve));
  return () => {
    h.runner.gate = undefined;
    release();
  };
}

export async function post(h: Harness, init: RequestInit) {
  return h.app.request('http://service.local/v1/segment', init);
}

export async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}
