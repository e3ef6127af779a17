/**
 * Fakes of the GPU service and S3 for the workerd suite, installed as a mock of the isolate's
 * global fetch (the Worker runs in the tests' isolate). The fake GPU service checks the HMAC
 * signature and the multipart shape, answers a deterministic result and writes it to the fake
 * S3, as the real service does.
 */
import { vi } from 'vitest';
import { sha256Hex, verifyRequest } from '../../contract/hmac.js';
import { ForwardOptionsSchema, resultObjectKey, type SegmentResult } from '../../contract/segment.js';

export const HMAC_SECRET = 'edge-test-hmac-secret';
export const MODEL = 'cris-shapes-s@1.0.0';
export const GPU_HOSTS = ['gpu-a.test', 'gpu-b.test'];
export const S3_HOST = 's3.test';
export const BUCKET = 'cris-results';

/**
 * 'hang': frozen (segment calls and /readyz never answer); 'slow': segment calls never answer
 * but /readyz does (a tier busy with heavy requests); 'deadline': answers 504 `timeout` (the
 * service's own deadline passed); 'overloaded': 429; 'coalesced': answers as 'ok', marked as
 * another request's computation (x-cris-coalesced: 1).
 */
export type GpuMode = 'ok' | 'down' | 'unavailable' | 'hang' | 'slow' | 'deadline' | 'overloaded' | 'reject-image' | 'coalesced';

export interface GpuCall {
  host: string;
  phrases: string[];
  options: Record<string, unknown>;
  imageBytes: number;
  /** The signed tenant (API key id), request id and deadline. */
  tenant: string;
  requestId: string;
  deadlineMs: number;
}

export class FakeUpstream {
  /** Per GPU host: how it answers. */
  readonly modes = new Map<string, GpuMode>(GPU_HOSTS.map((host) => [host, 'ok']));
  readonly gpuCalls: GpuCall[] = [];
  readonly s3Objects = new Map<string, string>();
  /** Images the edge keeps (PUT with x-amz-meta-expires-at), by object key. */
  readonly s3Images = new Map<string, { bytes: Uint8Array; expiresAt: string; type: string }>();
  s3Gets = 0;
  /** S3 accepts and never answers (until the caller aborts). */
  s3Stalled = false;
  /** Held calls whose caller aborted them. */
  aborted = 0;
  /** /readyz calls seen. */
  readyProbes = 0;
  /** Segment calls with a phrase this matches never answer (heavy requests; /readyz still answers). */
  heavy: RegExp | null = null;
  /** The request id header of every segment call that reached a GPU host, answered or not. */
  readonly attemptIds: (string | null)[] = [];
  /** Resolves answers the fake GPU holds back (for async tests). */
  gate: Promise<void> | null = null;
  /** When set, every PNG mask answered holds this many bytes (large answers). */
  pngMaskBytes: number | null = null;

  setAll(mode: GpuMode): void {
    for (const host of GPU_HOSTS) this.modes.set(host, mode);
  }

  /** Successful GPU computations. */
  get computed(): number {
    return this.gpuCalls.length;
  }

  async handle(request: Request, passThrough: typeof fetch, signal?: AbortSignal | null): Promise<Response> {
    const url = new URL(request.url);
    if (url.hostname === S3_HOST) return this.s3Stalled ? hangUntilAborted(signal) : this.s3(request, url);
    if (GPU_HOSTS.includes(url.hostname)) return this.gpu(request, url, signal);
    return passThrough(request);
  }

  private async s3(request: Request, url: URL): Promise<Response> {
    if (!request.headers.get('authorization')?.startsWith('AWS4-HMAC-SHA256 ')) return new Response('unsigned', { status: 403 });
    const key = decodeURIComponent(url.pathname).replace(`/${BUCKET}/`, '');
    if (key.startsWith('images/')) return this.s3Image(request, key);
    if (request.method !== 'GET') return new Response('method', { status: 405 });
    this.s3Gets += 1;
    const object = this.s3Objects.get(key);
    return object === undefined ? new Response('<Error><Code>NoSuchKey</Code></Error>', { status: 404 }) : new Response(object);
  }

  private async s3Image(request: Request, key: string): Promise<Response> {
    if (request.method === 'PUT') {
      const bytes = new Uint8Array(await request.arrayBuffer());
      this.s3Images.set(key, { bytes, expiresAt: request.headers.get('x-amz-meta-expires-at') ?? '', type: request.headers.get('content-type') ?? '' });
      return new Response(null, { status: 200 });
    }
    if (request.method === 'DELETE') {
      this.s3Images.delete(key);
      return new Response(null, { status: 204 });
    }
    const image = this.s3Images.get(key);
    if (!image) return new Response(request.method === 'HEAD' ? null : '<Error><Code>NoSuchKey</Code></Error>', { status: 404 });
    const headers = { 'content-type': image.type, 'x-amz-meta-expires-at': image.expiresAt };
    return new Response(request.method === 'HEAD' ? null : image.bytes, { headers });
  }

  private async gpu(request: Request, url: URL, signal?: AbortSignal | null): Promise<Response> {
    const mode = this.modes.get(url.hostname) ?? 'ok';
    if (url.pathname === '/readyz') {
      this.readyProbes += 1;
      if (mode === 'down') throw new TypeError('Network connection lost.');
      if (mode === 'hang') return hangUntilAborted(signal);
      return mode === 'unavailable' ? new Response('draining', { status: 503 }) : new Response('ready');
    }
    this.attemptIds.push(request.headers.get('x-cris-request-id'));
    if (mode === 'down') throw new TypeError('Network connection lost.');
    if (mode === 'unavailable') return Response.json({ error: { code: 'unavailable', message: 'draining' } }, { status: 503 });
    if (mode === 'hang' || mode === 'slow') return hangUntilAborted(signal, () => (this.aborted += 1));
    if (this.heavy) {
      const heavy = this.heavy;
      const phrases = (await request.clone().formData()).getAll('text') as string[];
      if (phrases.some((phrase) => heavy.test(phrase))) return hangUntilAborted(signal);
    }
    if (mode === 'deadline') return Response.json({ error: { code: 'timeout', message: 'deadline passed' } }, { status: 504 });
    if (mode === 'overloaded') return Response.json({ error: { code: 'overloaded', message: 'queue full' } }, { status: 429, headers: { 'retry-after': '1' } });
    const body = new Uint8Array(await request.arrayBuffer());
    const verified = await verifyRequest(HMAC_SECRET, { method: 'POST', path: url.pathname, body, headers: request.headers });
    if (!verified.ok) return Response.json({ error: { code: 'invalid_signature', message: verified.failure } }, { status: 401 });
    const form = await new Request(request.url, { method: 'POST', headers: request.headers, body }).formData();
    const image = form.get('image') as unknown as File;
    const phrases = form.getAll('text');
    const options = ForwardOptionsSchema.parse(JSON.parse(form.get('options') ?? '{}'));
    if (mode === 'reject-image') return Response.json({ error: { code: 'invalid_image', message: 'cannot decode' } }, { status: 422 });
    this.gpuCalls.push({ host: url.hostname, phrases, options, imageBytes: image.size, ...verified.context });
    if (this.gate) await this.gate;
    const imageBytes = new Uint8Array(await image.arrayBuffer());
    // As the real service does: keep the upload where the edge asks, with its expiry as metadata.
    if (options.storeImage) this.s3Images.set(options.storeImage.key, { bytes: imageBytes, expiresAt: String(options.storeImage.expiresAt), type: image.type });
    const result: SegmentResult = {
      id: options.resultKey,
      image_id: await sha256Hex(imageBytes),
      model: MODEL,
      width: 4,
      height: 3,
      results: phrases.map((text, index) => ({
        text,
        found: true,
        presence: null,
        score: 0.9,
        bbox: [index, 0, 1, 1],
        area: 1,
        regions: 1,
        mask:
          options.format === 'png'
            ? { format: 'png', data: this.pngMaskBytes ? 'A'.repeat(Math.ceil(this.pngMaskBytes / 3) * 4) : btoa(`PNG-${text}`) }
            : options.format === 'rle'
              ? { format: 'rle', size: [3, 4], counts: '0a' }
              : { format: 'polygon', coordinates: [[[[index, 0], [index + 1, 0], [index + 1, 1]]]] },
      })),
      cached: false,
      timing: { total_ms: 12 },
    };
    this.s3Objects.set(resultObjectKey(MODEL, options.resultKey), JSON.stringify(result));
    return Response.json(result, { headers: mode === 'coalesced' ? { 'x-cris-coalesced': '1' } : {} });
  }
}

/** Honours the caller's abort signal, as a real connection would; answers 500 after 10 s otherwise. */
async function hangUntilAborted(signal?: AbortSignal | null, onAbort?: () => void): Promise<Response> {
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 10_000);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      onAbort?.();
      reject(signal.reason ?? new Error('aborted'));
    });
  });
  return new Response('late', { status: 500 });
}

/** Installs a fresh fake for the current test file; returns it. */
export function installFakeUpstream(): FakeUpstream {
  const fake = new FakeUpstream();
  const original = globalThis.fetch.bind(globalThis);
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const request = new Request(input as RequestInfo, init);
    return fake.handle(request, original, init?.signal ?? request.signal);
  });
  return fake;
}
