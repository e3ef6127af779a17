/**
 * Two tenants on the real stack (s3rver, the GPU service on CPU, wrangler dev), for the tenancy
 * test and `npm run bench:tenants`: a heavy key (large images x 16 phrases) and a light key
 * (the sample scenes x 1 phrase, a new phrase each time so every request is a miss).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { edgeFetch, edgeVars, seedApiKey, startEdge, type EdgeHandle } from './edge-process.js';
import { defaultTestBundle, startS3rver, startService, type S3rverHandle, type ServiceHandle } from './service-process.js';
import { samples } from './stack.js';

export interface TenantStack {
  edge: EdgeHandle;
  service: ServiceHandle;
  s3: S3rverHandle;
  model: string;
  keys: { heavy: string; light: string };
  stop(): Promise<void>;
}

export async function startTenantStack(options: { basePort: number; gpuTimeoutMs: number; serviceEnv?: Record<string, string> }): Promise<TenantStack> {
  const bundleDir = defaultTestBundle();
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { id: string; version: string };
  const model = `${manifest.id}@${manifest.version}`;
  const secret = 'tenancy-test-secret-0123456789';
  const persistTo = mkdtempSync(join(tmpdir(), 'cris-tenants-'));
  const s3 = await startS3rver({ port: options.basePort });
  const service = await startService({ port: options.basePort + 1, bundleDir, secret, env: { ...s3.env, ...options.serviceEnv } });
  const [edge, heavy, light] = await Promise.all([
    startEdge({ port: options.basePort + 2, persistTo, vars: edgeVars({ gpuUrls: [service.url], hmacSecret: secret, s3: s3.config, model, gpuTimeoutMs: options.gpuTimeoutMs }) }),
    seedApiKey({ persistTo, plan: 'bench' }),
    seedApiKey({ persistTo, plan: 'bench' }),
  ]);
  return {
    edge,
    service,
    s3,
    model,
    keys: { heavy: heavy.apiKey, light: light.apiKey },
    async stop() {
      await edge.stop();
      await service.stop(5000);
      await s3.close();
      rmSync(persistTo, { recursive: true, force: true });
    },
  };
}

/** A noisy RGB image of width x height (a stand-in for a large photo: costly to decode and trace); JPEG keeps a 12 MP one under the body limit. */
export async function largeImage(width: number, height: number, seed = 1, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const small = Buffer.alloc(64 * 48 * 3);
  let state = seed;
  for (let i = 0; i < small.length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    small[i] = state & 0xff;
  }
  const resized = sharp(small, { raw: { width: 64, height: 48, channels: 3 } }).resize(width, height, { kernel: 'cubic' });
  return (format === 'jpeg' ? resized.jpeg({ quality: 85 }) : resized.png({ compressionLevel: 1 })).toBuffer();
}

export function form(image: Buffer, phrases: string[]): FormData {
  const body = new FormData();
  const type = image[0] === 0xff ? 'image/jpeg' : 'image/png';
  body.append('image', new Blob([new Uint8Array(image)], { type }), 'image');
  for (const phrase of phrases) body.append('text', phrase);
  return body;
}

export function segment(origin: string, apiKey: string, body: FormData): Promise<Response> {
  return edgeFetch(`${origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body });
}

export interface LoadResult {
  /** Latency (ms) of every answer, in completion order. */
  latencies: number[];
  statuses: Map<number, number>;
}

/** `concurrency` loops sending `next(i)` until `durationMs` has passed (the last ones finish). */
export async function runLoad(origin: string, apiKey: string, concurrency: number, durationMs: number, next: (i: number) => FormData): Promise<LoadResult> {
  const result: LoadResult = { latencies: [], statuses: new Map() };
  const until = Date.now() + durationMs;
  let counter = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const body = next(counter++);
        const started = performance.now();
        const status = await segment(origin, apiKey, body).then(
          async (response) => {
            await response.arrayBuffer();
            return response.status;
          },
          () => 0,
        );
        result.latencies.push(performance.now() - started);
        result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  return result;
}

/** The light tenant's requests: sample scenes, a phrase made unique per request (always a miss). */
export function lightRequests(): (i: number) => FormData {
  const scenes = samples().map((sample) => ({ image: readFileSync(sample.image), phrase: sample.phrase }));
  const run = Date.now().toString(36);
  return (i) => {
    const scene = scenes[i % scenes.length];
    return form(scene.image, [`${scene.phrase} ${run} ${i}`]);
  };
}

/** The heavy tenant's requests: one large image x 16 phrases, new phrases each time. */
export function heavyRequests(image: Buffer): (i: number) => FormData {
  const run = Date.now().toString(36);
  return (i) => form(image, Array.from({ length: 16 }, (_, phrase) => `shape ${phrase} ${run} ${i}`));
}
