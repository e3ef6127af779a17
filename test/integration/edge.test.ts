/**
 * The edge on loopback with real processes: wrangler dev (workerd) + the real GPU service (small
 * bundle, CPU) + s3rver. A first request computes (MISS), the same again is a HIT that never
 * reaches the GPU service (its request counter is unchanged), the result is in S3; with the
 * service stopped a new request gets 503 + Retry-After within the configured timeout. Also: the
 * Worker bundles with `wrangler deploy --dry-run`, with aws4fetch and without the AWS SDK.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultObjectKey, type SegmentResult } from '../../contract/segment.js';
import { listKeys, revokeKey } from '../../functions/cli/keys.js';
import { edgeFetch, edgeVars, REPO_ROOT, seedApiKey, startEdge, type EdgeHandle } from '../helpers/edge-process.js';
import { defaultTestBundle, startS3rver, startService, type S3rverHandle, type ServiceHandle } from '../helpers/service-process.js';

const PORTS = { s3: 18210, service: 18211, edge: 18212 };
const GPU_TIMEOUT_MS = 20_000;
const SECRET = 'edge-integration-secret-0123456789';

let s3: S3rverHandle;
let service: ServiceHandle;
let edge: EdgeHandle;
let apiKey: string;
let model: string;
const persistTo = mkdtempSync(join(tmpdir(), 'cris-edge-it-'));

async function scene(): Promise<Buffer> {
  // A small scene: a red disc on grey; the edge does not care what is in it.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect width="96" height="64" fill="#8a8a8a"/><circle cx="30" cy="30" r="14" fill="#e01010"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function segment(image: Buffer, phrase: string): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'scene.png');
  form.append('text', phrase);
  return edgeFetch(`${edge.origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
}

/** Sum of cris_requests_total for the segment route, from the service's /metrics. */
async function segmentRequestsSeen(): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cris_requests_total{') && line.includes('route="/v1/segment"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

const bundleDir = defaultTestBundle();
const haveBundle = existsSync(join(bundleDir, 'manifest.json'));
if (!haveBundle) console.warn(`edge integration: no model bundle at ${bundleDir}; export one (npm run export:onnx) to run it`);

describe.skipIf(!haveBundle)('edge + GPU service + S3 on loopback', () => {
  beforeAll(async () => {
    const bundle = bundleDir;
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { id: string; version: string };
    model = `${manifest.id}@${manifest.version}`;
    s3 = await startS3rver({ port: PORTS.s3 });
    service = await startService({ port: PORTS.service, bundleDir: bundle, secret: SECRET, env: s3.env });
    [edge, { apiKey }] = await Promise.all([
      startEdge({
        port: PORTS.edge,
        persistTo,
        vars: edgeVars({ gpuUrls: [service.url], hmacSecret: SECRET, s3: s3.config, model, gpuTimeoutMs: GPU_TIMEOUT_MS }),
      }),
      seedApiKey({ persistTo, plan: 'bench' }),
    ]);
  });

  afterAll(async () => {
    await edge?.stop();
    await service?.stop(5000);
    await s3?.close();
    rmSync(persistTo, { recursive: true, force: true });
  });

  it('computes once (MISS), answers the same request from cache (HIT) without the GPU service; the result is in S3', async () => {
    const image = await scene();
    const before = await segmentRequestsSeen();
    const first = await segment(image, 'the red circle');
    const firstBody = (await first.json()) as SegmentResult;
    expect(first.status, JSON.stringify(firstBody)).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(firstBody).toMatchObject({ model, width: 96, height: 64, cached: false });
    expect(firstBody.results).toHaveLength(1);
    const afterFirst = await segmentRequestsSeen();
    expect(afterFirst).toBe(before + 1);

    const again = await segment(image, 'The  red circle');
    const againBody = (await again.json()) as SegmentResult;
    expect(again.status).toBe(200);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(againBody).toMatchObject({ id: firstBody.id, cached: true });
    expect(againBody.results).toEqual(firstBody.results);
    expect(await segmentRequestsSeen()).toBe(afterFirst);

    const client = new AwsClient({ accessKeyId: s3.config.accessKeyId, secretAccessKey: s3.config.secretAccessKey, region: s3.config.region, service: 's3' });
    const objectUrl = `${s3.config.endpoint}/${s3.config.bucket}/${resultObjectKey(model, firstBody.id)}`;
    const stored = await client.fetch(objectUrl);
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as SegmentResult).id).toBe(firstBody.id);

    const byUrl = await edgeFetch(`${edge.origin}/v1/results/${firstBody.id}`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(byUrl.status).toBe(200);
    expect(byUrl.headers.get('etag')).toBe(`"${firstBody.id}"`);

    const usage = (await (await edgeFetch(`${edge.origin}/v1/usage`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as { totals: unknown };
    expect(usage.totals).toEqual({ requests: 2, billable: 1, cached: 1 });
  });

  it('Accept: image/png with one phrase answers the mask PNG from the real service', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await scene())], { type: 'image/png' }), 'scene.png');
    form.append('text', 'the red circle');
    const res = await edgeFetch(`${edge.origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, accept: 'image/png' }, body: form });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 96, 64]);
  });

  it('Prefer: respond-async answers 202; the result URL serves the result once the service stored it', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await scene())], { type: 'image/png' }), 'scene.png');
    form.append('text', 'the grey square');
    const res = await edgeFetch(`${edge.origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, prefer: 'respond-async' }, body: form });
    expect(res.status).toBe(202);
    const { id, result_url: resultUrl } = (await res.json()) as { id: string; result_url: string };
    const deadline = Date.now() + GPU_TIMEOUT_MS;
    let poll: Response;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      poll = await edgeFetch(resultUrl, { headers: { authorization: `Bearer ${apiKey}` } });
    } while (poll.status === 404 && Date.now() < deadline);
    expect(poll.status).toBe(200);
    expect(((await poll.json()) as SegmentResult).id).toBe(id);
  });

  it('a key revoked with the key CLI is refused (403)', async () => {
    const { apiKey: doomed, record } = await seedApiKey({ persistTo, plan: 'free' });
    revokeKey({ remote: false, persistTo }, record.keyId);
    const res = await edgeFetch(`${edge.origin}/v1/usage`, { headers: { authorization: `Bearer ${doomed}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('key_disabled');
    expect(listKeys({ remote: false, persistTo }).find((key) => key.metadata?.keyId === record.keyId)?.metadata?.disabled).toBe(true);
  }, 300_000); // four wrangler CLI runs, slow on a busy machine

  it('with the GPU service stopped, a new request gets 503 + Retry-After within the configured timeout', async () => {
    await service.stop(5000);
    const started = Date.now();
    const res = await segment(await scene(), 'the grey background');
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    expect(elapsed).toBeLessThan(GPU_TIMEOUT_MS);
  });
});

describe('wrangler deploy --dry-run', () => {
  it('bundles the Worker with aws4fetch and without the AWS SDK; reports its size', () => {
    const outdir = join(REPO_ROOT, 'dist', 'worker');
    rmSync(outdir, { recursive: true, force: true });
    const result = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--env', 'production', '--outdir', outdir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' },
    });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const files = readdirSync(outdir).filter((file) => file.endsWith('.js'));
    expect(files.length).toBeGreaterThan(0);
    const code = files.map((file) => readFileSync(join(outdir, file), 'utf8')).join('\n');
    const bytes = files.reduce((sum, file) => sum + statSync(join(outdir, file)).size, 0);
    const gzip = /Total Upload: ([^\n]+)/.exec(result.stdout)?.[1] ?? '?';
    console.log(`worker bundle: ${files.join(', ')} ${(bytes / 1024).toFixed(1)} KiB (wrangler: ${gzip.trim()})`);
    expect(code).toMatch(/AwsClient = class|class AwsClient/);
    expect(code).toContain('aws4fetch');
    expect(code).not.toMatch(/@aws-sdk|S3Client|PutObjectCommand/);
    expect(code).toMatch(/KeyMeter = class|class KeyMeter/);
  });
});
