/**
 * The GPU run's benchmark (bundled to device-bench.mjs by build.ts; run by run-on-device.sh with
 * the node binary from the parts). Per execution provider, in turn:
 *   1. raw graph latency: the service's own runner in this process, image encoder + head at each
 *      batch size, on every RN50 bundle (fp32, fp16): p50/p99 and image-phrases/s;
 *   2. the service (bundled main.mjs, CRIS_PROVIDER=<provider>): /v1/models and /metrics must
 *      name the provider; RN50 at c=32 with batching on vs off; the shipped small bundle at c=1/8/32.
 * A provider that cannot be used is recorded with its reason, and the service is checked to
 * refuse it. Writes ONE JSON file (--out). Every point is bounded in time; progress and an ETA
 * go to stderr.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { readBundle } from '../../gpu-service/src/bundle/index.js';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../../gpu-service/src/core/types.js';
import { createOnnxRunner } from '../../gpu-service/src/inference/onnx-runner.js';
import { load, scene } from '../load.js';
import { segmentInit } from '../../test/helpers/service-requests.js';
import { percentile } from '../stats.js';
import { startService, type ServiceHandle } from '../../test/helpers/service-process.js';
import { PROFILES, planSeconds, type Profile } from './profiles.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    env: { type: 'string' },
    main: { type: 'string' },
    bundle: { type: 'string', multiple: true, default: [] },
    shipped: { type: 'string' },
    providers: { type: 'string', default: 'cuda,webgpu,cpu' },
    profile: { type: 'string', default: 'gpu' },
    label: { type: 'string', default: 'gpu-run' },
  },
});
if (!values.out || !values.main || !values.shipped || values.bundle.length === 0) {
  throw new Error('usage: device-bench.mjs --out FILE --main SERVICE_MAIN.mjs --shipped DIR --bundle NAME=DIR... [--env FILE] [--providers cuda,webgpu,cpu] [--profile gpu|cpu-dry-run]');
}
const profile: Profile = PROFILES[values.profile as keyof typeof PROFILES];
if (!profile) throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
const providers = values.providers.split(',').map((p) => p.trim()) as ExecutionProvider[];
for (const p of providers) if (!EXECUTION_PROVIDERS.includes(p)) throw new Error(`unknown provider ${p}`);
const bundles = values.bundle.map((spec) => {
  const [name, dir] = spec.split('=');
  return { name, dir };
});

const started = performance.now();
let plannedLeft = planSeconds(profile, providers.length, bundles.length);
function progress(message: string, stepSeconds = 0): void {
  plannedLeft = Math.max(0, plannedLeft - stepSeconds);
  const elapsed = (performance.now() - started) / 1000;
  process.stderr.write(`[bench ${elapsed.toFixed(0)}s, ETA ~${plannedLeft.toFixed(0)}s] ${message}\n`);
}

interface GraphPoint {
  bundle: string;
  precision: string;
  batch: number;
  iterations: number;
  encoder_p50_ms: number;
  head_p50_ms: number;
  p50_ms: number;
  p99_ms: number;
  image_phrases_per_s: number;
}

/** Encoder + head on `batch` distinct random images, one phrase each; bounded by the profile. */
async function graphPoints(provider: ExecutionProvider, bundleName: string, dir: string): Promise<GraphPoint[]> {
  const bundle = await readBundle(dir);
  const runner = await createOnnxRunner(bundle, { provider, log: (m) => progress(`  ${bundleName}: ${m}`) });
  if (runner.provider !== provider) throw new Error(`asked for ${provider}, the runner is on ${runner.provider}`);
  const points: GraphPoint[] = [];
  try {
    const { size } = bundle.manifest.input;
    const wordLen = bundle.manifest.text.word_len;
    const { sot_id: sot, eot_id: eot } = bundle.manifest.text.tokenizer;
    const cpu = provider === 'cpu';
    for (const batch of cpu ? profile.cpuBatches : profile.batches) {
      const images = new Float32Array(batch * 3 * size * size).map(() => Math.random() - 0.5); // [B, 3, S, S]
      const tokens = new BigInt64Array(batch * wordLen); // [B, L]: SOT, one word, EOT
      for (let row = 0; row < batch; row++) tokens.set([BigInt(sot), BigInt(20 + row), BigInt(eot)], row * wordLen);
      const once = async () => {
        const t0 = performance.now();
        const features = await runner.encodeImages(images, batch);
        const t1 = performance.now();
        await runner.runHead(features, tokens);
        return { encoder: t1 - t0, head: performance.now() - t1 };
      };
      for (let i = 0; i < profile.graphWarmUps; i++) await once();
      const runs: { encoder: number; head: number }[] = [];
      const deadline = performance.now() + profile.graphSecondsPerPoint * 1000;
      const minIterations = cpu ? Math.min(3, profile.graphMinIterations) : profile.graphMinIterations;
      while (runs.length < minIterations || (runs.length < profile.graphMaxIterations && performance.now() < deadline)) runs.push(await once());
      const total = runs.map((r) => r.encoder + r.head).sort((a, b) => a - b);
      const p50 = percentile(total, 50);
      points.push({
        bundle: bundleName,
        precision: bundle.manifest.precision,
        batch,
        iterations: runs.length,
        encoder_p50_ms: percentile(runs.map((r) => r.encoder).sort((a, b) => a - b), 50),
        head_p50_ms: percentile(runs.map((r) => r.head).sort((a, b) => a - b), 50),
        p50_ms: p50,
        p99_ms: percentile(total, 99),
        image_phrases_per_s: (batch * 1000) / p50,
      });
      progress(`  ${provider} ${bundleName} b=${batch}: p50 ${p50.toFixed(2)} ms, ${((batch * 1000) / p50).toFixed(1)} image-phrases/s (${runs.length} runs)`, profile.graphSecondsPerPoint);
    }
  } finally {
    await runner.close();
  }
  return points;
}

function serviceEnv(provider: ExecutionProvider, maxBatch: number): Record<string, string> {
  return {
    CRIS_PROVIDER: provider,
    CRIS_MAX_BATCH: String(maxBatch),
    CRIS_MAX_QUEUE_DELAY_MS: maxBatch > 1 ? '5' : '0',
    CRIS_MAX_QUEUE_SIZE: '512',
    CRIS_FEATURE_CACHE_ENTRIES: '0',
    CRIS_WORKERS: '1',
    // Imaging threads beside the inference worker on a GPU host; the service's default (imaging
    // inside the inference worker) on a small CPU host.
    ...(availableParallelism() > 4 ? { CRIS_IMAGING_WORKERS: String(Math.min(8, availableParallelism() - 2)) } : {}),
    // Unsigned requests (each signature may be used once; the load cycles through its requests).
    CRIS_INSECURE_NO_AUTH: '1',
    CRIS_HMAC_SECRET: '',
    CRIS_REQUEST_TIMEOUT_MS: '120000',
    CRIS_LOG_LEVEL: 'info',
  };
}

/** Starts the bundled service and checks that /v1/models and /metrics name `provider`. */
async function startChecked(provider: ExecutionProvider, port: number, bundleDir: string, maxBatch: number): Promise<ServiceHandle> {
  const service = await startService({ port, bundleDir, mainScript: values.main, env: serviceEnv(provider, maxBatch), readyTimeoutMs: 240_000 });
  const models = (await (await fetch(`${service.url}/v1/models`)).json()) as { models: { provider: string }[] };
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  if (models.models[0].provider !== provider || !metrics.includes(`cris_execution_provider{provider="${provider}"} 1`)) {
    await service.stop();
    throw new Error(`the service asked for ${provider} reports ${models.models[0].provider}`);
  }
  return service;
}

async function servicePoints(provider: ExecutionProvider, rn50Dir: string, inits: RequestInit[]) {
  const port = 18400 + EXECUTION_PROVIDERS.indexOf(provider) * 10;
  const maxBatch = profile.serviceMaxBatch;
  // All three start side by side (an idle one costs nothing); measured one after the other.
  const [on, off, shipped] = await Promise.all([
    startChecked(provider, port, rn50Dir, maxBatch),
    startChecked(provider, port + 1, rn50Dir, 1),
    startChecked(provider, port + 2, values.shipped!, maxBatch),
  ]);
  progress(`  ${provider}: 3 services ready (${on.readyMs.toFixed(0)}, ${off.readyMs.toFixed(0)}, ${shipped.readyMs.toFixed(0)} ms), provider asserted`, profile.serviceStartSeconds);
  try {
    const point = async (service: ServiceHandle, name: string, concurrency: number) => {
      await load(service.url, inits.slice(0, 4), Math.min(4, concurrency), 4); // warm the HTTP path
      const { latencies, ...result } = await load(service.url, inits, concurrency, profile.loadMaxRequests, profile.loadSecondsPerPoint * 1000);
      progress(`  ${provider} ${name} c=${concurrency}: ${result.throughput.toFixed(1)} req/s, p50 ${result.p50.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms`, profile.loadSecondsPerPoint);
      return { ...result, latencies_ms_sample: latencies.length };
    };
    const name = rn50Dir.split('/').pop();
    const batchingOn = await point(on, `${name} batching on (max ${maxBatch})`, 32);
    const batchingOff = await point(off, `${name} batching off`, 32);
    const shippedPoints = [];
    for (const c of [1, 8, 32]) shippedPoints.push(await point(shipped, 'shipped', c));
    const startLine = (s: ServiceHandle) => s.logs().split('\n').find((l) => l.includes('"message":"inference backend"')) ?? '';
    return {
      rn50_bundle: name,
      max_batch: maxBatch,
      ready_ms: { rn50_on: on.readyMs, rn50_off: off.readyMs, shipped: shipped.readyMs },
      start_log: JSON.parse(startLine(on) || '{}') as unknown,
      c32_batching_on: batchingOn,
      c32_batching_off: batchingOff,
      batching_speedup_c32: batchingOn.throughput / batchingOff.throughput,
      shipped: shippedPoints,
    };
  } finally {
    await Promise.all([on.stop(), off.stop(), shipped.stop()]);
  }
}

/** A provider that cannot be used must stop the service at start; returns its refusal. */
async function serviceRefusal(provider: ExecutionProvider): Promise<string> {
  try {
    const service = await startService({ port: 18490, bundleDir: values.shipped!, mainScript: values.main, env: serviceEnv(provider, 1), readyTimeoutMs: 120_000 });
    await service.stop();
    return 'NOT REFUSED: the service started although the runner could not use the provider';
  } catch (error) {
    const line = String(error).split('\n').find((l) => l.includes('worker threads failed to start'));
    return line ?? String(error).slice(0, 400);
  }
}

async function main(): Promise<void> {
  const env = values.env ? (JSON.parse(readFileSync(values.env, 'utf8')) as Record<string, unknown>) : {};
  const images = await Promise.all(Array.from({ length: 64 }, (_, i) => scene(i + 1)));
  const inits = await Promise.all(images.map((image, i) => segmentInit({ image, texts: [`the ${i % 2 ? 'round' : 'square'} shape`] }, undefined)));
  const rn50ForService = (provider: ExecutionProvider) =>
    profile.rn50Service ? (bundles.find((b) => b.name.endsWith(provider === 'cpu' ? 'fp32' : 'fp16'))?.dir ?? bundles[0].dir) : values.shipped!;
  const results: Record<string, unknown> = {};
  progress(`profile ${values.profile}: providers ${providers.join(', ')}, bundles ${bundles.map((b) => b.name).join(', ')}`);
  for (const provider of providers) {
    const graph: GraphPoint[] = [];
    try {
      for (const { name, dir } of bundles) {
        if (provider === 'cpu' && name.endsWith('fp16') && !profile.cpuFp16) continue;
        graph.push(...(await graphPoints(provider, name, dir)));
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      progress(`  ${provider}: cannot be used (${reason.split('\n')[0]}); checking that the service refuses it`);
      results[provider] = { available: false, reason, graph, service_refusal: await serviceRefusal(provider) };
      plannedLeft -= planSeconds(profile, 1, bundles.length) - profile.serviceStartSeconds;
      continue;
    }
    try {
      results[provider] = { available: true, graph, service: await servicePoints(provider, rn50ForService(provider), inits) };
    } catch (error) {
      progress(`  ${provider}: the service benchmark failed: ${String(error).slice(0, 300)}`);
      results[provider] = { available: true, graph, service_error: String(error).slice(0, 4000) };
    }
  }
  const result = {
    label: values.label,
    date: new Date().toISOString(),
    wall_s: (performance.now() - started) / 1000,
    environment: {
      ...env,
      node: process.version,
      node_path: process.execPath,
      onnxruntime_node: onnxruntimeNodeVersion(),
      cpu: cpus()[0]?.model ?? null,
      cpu_cores: availableParallelism(),
      load_average_at_end: loadavg()[0],
    },
    profile: { name: values.profile, ...profile },
    targets: targets(results),
    bundles,
    providers: results,
  };
  writeFileSync(values.out!, JSON.stringify(result, null, 2) + '\n');
  plannedLeft = 0;
  progress(`wrote ${values.out}`);
}

/** The targets, per available provider: fp16 batch-1 p50, batched fp16 throughput, c=32 batching gain. */
function targets(results: Record<string, unknown>): Record<string, unknown> {
  const checks: Record<string, unknown> = {};
  for (const [provider, value] of Object.entries(results)) {
    const r = value as { available: boolean; graph: GraphPoint[]; service?: { batching_speedup_c32: number } };
    if (!r.available) continue;
    const fp16 = r.graph.filter((g) => g.precision === 'fp16');
    const b1 = fp16.find((g) => g.batch === 1)?.p50_ms ?? null;
    const best = fp16.length ? Math.max(...fp16.map((g) => g.image_phrases_per_s)) : null;
    const speedup = r.service?.batching_speedup_c32 ?? null;
    checks[provider] = {
      fp16_batch1_p50_ms: b1,
      fp16_batch1_p50_le_10ms: b1 === null ? null : b1 <= 10,
      fp16_best_image_phrases_per_s: best,
      fp16_batched_ge_1000_per_s: best === null ? null : best >= 1000,
      c32_batching_speedup: speedup,
      c32_batching_speedup_ge_3x: speedup === null ? null : speedup >= 3,
    };
  }
  return checks;
}

function onnxruntimeNodeVersion(): string | null {
  try {
    return (JSON.parse(readFileSync(new URL(import.meta.resolve('onnxruntime-node/package.json')), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`device bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
