/**
 * The rest of `npm run bench:service`, after the peer comparison: cold start to ready (tsx and
 * the JS bundle), pre-processing of a 12 MP JPEG, N phrases in one request vs N single calls, and
 * what a batch saves in onnxruntime alone (bench/onnx-batch-cost.ts). Returns report lines.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readBundle } from '../gpu-service/src/bundle/index.js';
import { prepareImage } from '../gpu-service/src/imaging/index.js';
import { REPO_ROOT, startService, type ServiceHandle } from '../test/helpers/service-process.js';
import { segmentInit } from '../test/helpers/service-requests.js';
import { scene } from './load.js';
import { describeBatchCost, onnxBatchCost } from './onnx-batch-cost.js';
import { median, percentile } from './stats.js';

export interface ExtrasOptions {
  port: number;
  bundle: string;
  env: Record<string, string>;
  phraseImage: Uint8Array;
  log(message: string): void;
}

function startMs(service: ServiceHandle): number {
  const line = service.logs().split('\n').find((l) => l.includes('"message":"ready"'));
  return line ? (JSON.parse(line) as { start_ms: number }).start_ms : NaN;
}

async function withService<T>(options: ExtrasOptions, run: (service: ServiceHandle) => Promise<T>, entry: 'source' | 'bundle' = 'source'): Promise<T> {
  const service = await startService({ port: options.port, bundleDir: options.bundle, env: options.env, readyTimeoutMs: 120_000, entry });
  try {
    return await run(service);
  } finally {
    await service.stop();
  }
}

export async function benchExtras(options: ExtrasOptions): Promise<string[]> {
  // Cold start alone, three times each: TypeScript through tsx, and the JavaScript bundle
  // (gpu-service/deploy/build.mjs) the container image runs.
  const coldCpu: Record<'source' | 'bundle', number[]> = { source: [], bundle: [] };
  const coldWall: Record<'source' | 'bundle', number[]> = { source: [], bundle: [] };
  const coldInside: number[] = [];
  execFileSync(process.execPath, [join(REPO_ROOT, 'gpu-service/deploy/build.mjs')], { stdio: 'ignore' });
  for (let i = 0; i < 3; i++) {
    for (const entry of ['source', 'bundle'] as const) {
      await withService(options, async (service) => {
        if (entry === 'source') coldInside.push(startMs(service));
        coldWall[entry].push(service.readyMs);
        coldCpu[entry].push(service.cpuSeconds());
      }, entry);
    }
  }
  options.log('cold starts measured');

  // 12 MP JPEG pre-processing, in-process (the service's own function) and as the service reports it.
  const bundle = await readBundle(options.bundle);
  const jpeg12 = await scene(7, 4000, 3000, 'jpeg');
  const prepTimes: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await prepareImage(jpeg12, bundle.manifest.input);
    prepTimes.push(performance.now() - t0);
  }
  prepTimes.sort((a, b) => a - b);
  const prepInProcess = percentile(prepTimes.slice(2), 50); // first runs warm sharp up

  // N phrases in one request vs N single calls (same image, feature cache off, batching on).
  const N = 8;
  const phrases = Array.from({ length: N }, (_, i) => `the ${['red', 'blue', 'green', 'pink'][i % 4]} ${i < 4 ? 'circle' : 'square'}`);
  const nPhrase = await withService(options, async (service) => {
    const servicePrep: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${service.url}/v1/segment`, await segmentInit({ image: jpeg12, texts: ['the red circle'] }, service.secret));
      servicePrep.push(((await response.json()) as { timing: { preprocess_ms: number } }).timing.preprocess_ms);
    }
    const one: number[] = [];
    const many: number[] = [];
    for (let round = 0; round < 5; round++) {
      let t0 = performance.now();
      await (await fetch(`${service.url}/v1/segment`, await segmentInit({ image: options.phraseImage, texts: phrases }, service.secret))).arrayBuffer();
      one.push(performance.now() - t0);
      t0 = performance.now();
      for (const phrase of phrases) {
        await (await fetch(`${service.url}/v1/segment`, await segmentInit({ image: options.phraseImage, texts: [phrase] }, service.secret))).arrayBuffer();
      }
      many.push(performance.now() - t0);
    }
    return { one: median(one), many: median(many), servicePrep: median(servicePrep) };
  });

  // What a batch saves in onnxruntime itself (nothing else running).
  const batchCosts = [await onnxBatchCost(bundle, 1), await onnxBatchCost(bundle, 2)];
  options.log('onnxruntime batch cost measured');

  return [
    ...batchCosts.map(describeBatchCost),
    `cold start to ready (spawn -> /readyz 200, median of 3, max batch 8 warm-up): ${median(coldWall.source).toFixed(0)} ms; inside the process (main start -> ready): ${median(coldInside).toFixed(0)} ms (target <= 1500 ms)`,
    `cold start, CPU seconds used by then (all threads, median of 3): TypeScript via tsx ${median(coldCpu.source).toFixed(2)} s, JS bundle ${median(coldCpu.bundle).toFixed(2)} s; wall: tsx ${median(coldWall.source).toFixed(0)} ms, bundle ${median(coldWall.bundle).toFixed(0)} ms`,
    `12 MP JPEG (4000x3000) pre-processing: ${prepInProcess.toFixed(1)} ms in-process median, ${nPhrase.servicePrep.toFixed(1)} ms as the service reports it (target <= 60 ms)`,
    `${N} phrases, one request: ${nPhrase.one.toFixed(0)} ms; ${N} single-phrase calls in a row: ${nPhrase.many.toFixed(0)} ms (${(nPhrase.many / nPhrase.one).toFixed(2)}x)`,
  ];
}
