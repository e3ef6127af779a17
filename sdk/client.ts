/**
 * The API client: `fetch` only, so the same code runs in browsers, React Native and Node 18+.
 *
 *   const cris = createClient({ endpoint: 'https://api.example.com', apiKey });
 *   const result = await cris.segment({ image, text: 'the red circle', format: 'rle' });
 */
import type { MaskFormat, ModelsList, SegmentResult, Size, UsageReport } from './wire.js';
import { CrisError, errorFromResponse } from './errors.js';
import { prepareUpload, SHRINK_QUALITY, shrinkSide, type ShrinkMode, type ShrinkSettings } from './shrink.js';
import { retryDelayMs, retryPolicy, sleep, type RetryOptions } from './retry.js';

/** A React Native file reference, as its FormData takes it (`{ uri, name, type }`). */
export interface FileReference {
  uri: string;
  name?: string;
  type?: string;
}

/** What `segment` accepts as the image: encoded PNG, JPEG or WebP bytes, or a file reference. */
export type ImageInput = Blob | ArrayBuffer | Uint8Array | FileReference;

export interface SegmentParams {
  /** The photo; omit it and pass `imageId` to ask about an image sent before (kept 24 h). */
  image?: ImageInput;
  /** The `image_id` of an earlier answer, instead of `image`. */
  imageId?: string;
  /**
   * Shrink a large photo before upload (sdk/shrink.ts): `'auto'` (default) where the platform can,
   * `true` or throw, `false` never. The answer is at the photo's own size either way.
   */
  shrink?: ShrinkMode;
  /** The size of the photo `image` was resized from (React Native apps that resize it themselves). */
  originalSize?: Size;
  /** One phrase, or several about the same image (one result per phrase, in order). */
  text: string | string[];
  /** Mask encoding (the API's default is `polygon`). */
  format?: MaskFormat;
  /** Probability threshold in (0, 1); the model's default when absent. */
  threshold?: number;
  /**
   * Presence threshold in [0, 1]: a phrase is `found` when the model's presence probability is
   * above it (the model's default when absent; no effect for a model without a presence output).
   */
  presence_threshold?: number;
  signal?: AbortSignal;
}

export interface ClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:8787`. */
  endpoint: string;
  apiKey: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Upload encoding of shrunk photos (default JPEG, quality 0.85). */
  shrinkEncoding?: { type: 'image/jpeg' | 'image/webp'; quality: number };
  /** Waits between retries; tests pass a fake. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CrisClient {
  segment(params: SegmentParams): Promise<SegmentResult>;
  getResult(id: string, init?: { signal?: AbortSignal }): Promise<SegmentResult>;
  /** Usage between two UTC days (YYYY-MM-DD, default this month). */
  usage(init?: { from?: string; to?: string; signal?: AbortSignal }): Promise<UsageReport>;
  models(init?: { signal?: AbortSignal }): Promise<ModelsList>;
}

/** The MIME type of encoded image bytes, from their first bytes. */
export function sniffImageType(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'image/webp';
  return 'application/octet-stream';
}

function isFileReference(image: ImageInput): image is FileReference {
  return typeof (image as FileReference).uri === 'string';
}

function appendImage(form: FormData, image: ImageInput): void {
  if (isFileReference(image)) {
    // React Native's FormData sends { uri, name, type } as a file part.
    form.append('image', { name: 'image', type: 'image/jpeg', ...image } as unknown as Blob);
    return;
  }
  if (typeof Blob !== 'undefined' && image instanceof Blob) {
    form.append('image', image, (image as File).name || 'image');
    return;
  }
  const bytes = image instanceof Uint8Array ? image : new Uint8Array(image as ArrayBuffer);
  form.append('image', new Blob([bytes as BlobPart], { type: sniffImageType(bytes) }), 'image');
}

export function createClient(options: ClientOptions): CrisClient {
  if (!options.endpoint) throw new TypeError('createClient: endpoint is required');
  if (!options.apiKey) throw new TypeError('createClient: apiKey is required');
  const base = options.endpoint.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const policy = retryPolicy(options.retry);
  const wait = options.sleep ?? sleep;

  /** One API call with retries; `makeInit` builds a fresh body per attempt (a FormData is single-use in some runtimes). */
  async function call<T>(path: string, makeInit: () => RequestInit, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const init = makeInit();
      let response: Response;
      try {
        response = await fetchImpl(`${base}${path}`, {
          ...init,
          signal,
          headers: { authorization: `Bearer ${options.apiKey}`, accept: 'application/json', ...init.headers },
        });
      } catch (error) {
        if (signal?.aborted) throw error;
        throw new CrisError('network_error', `request to ${base}${path} failed: ${String(error)}`, 0);
      }
      if (response.ok) {
        try {
          return (await response.json()) as T;
        } catch {
          throw new CrisError('bad_response', `${path} answered ${response.status} without JSON`, response.status);
        }
      }
      const error = await errorFromResponse(response);
      const delay = retryDelayMs(policy, attempt, response.status, error.retryAfterSeconds);
      if (delay === null) throw error;
      await wait(delay, signal);
    }
  }

  let shrinkSettings: Promise<ShrinkSettings> | undefined;
  /** Asked once per client: the default model's input size from GET /v1/models. */
  const settings = (): Promise<ShrinkSettings> => {
    shrinkSettings ??= call<ModelsList>('/v1/models', () => ({ method: 'GET' })).then((report) => ({
      maxSide: shrinkSide((report.data.find((model) => model.default) ?? report.data[0])?.input_size),
      type: options.shrinkEncoding?.type ?? 'image/jpeg',
      quality: options.shrinkEncoding?.quality ?? SHRINK_QUALITY,
    }));
    shrinkSettings.catch(() => (shrinkSettings = undefined));
    return shrinkSettings;
  };

  return {
    async segment({ image, imageId, shrink = 'auto', originalSize, text, format, threshold, presence_threshold, signal }) {
      const phrases = Array.isArray(text) ? text : [text];
      if (phrases.length === 0) throw new TypeError('segment: at least one phrase is required');
      if ((image === undefined) === (imageId === undefined)) throw new TypeError('segment: pass either image or imageId');
      const upload = image === undefined ? undefined : originalSize ? { image, originalSize } : await prepareUpload(image, shrink, settings);
      return call<SegmentResult>(
        '/v1/segment',
        () => {
          const form = new FormData();
          if (upload) appendImage(form, upload.image as ImageInput);
          else form.append('image_id', imageId!);
          if (upload?.originalSize) form.append('original_size', JSON.stringify(upload.originalSize));
          for (const phrase of phrases) form.append('text', phrase);
          if (format !== undefined) form.append('format', format);
          if (threshold !== undefined) form.append('threshold', String(threshold));
          if (presence_threshold !== undefined) form.append('presence_threshold', String(presence_threshold));
          return { method: 'POST', body: form };
        },
        signal,
      );
    },
    getResult(id, init) {
      return call<SegmentResult>(`/v1/results/${encodeURIComponent(id)}`, () => ({ method: 'GET' }), init?.signal);
    },
    usage(init) {
      const query = new URLSearchParams();
      if (init?.from) query.set('from', init.from);
      if (init?.to) query.set('to', init.to);
      const path = query.toString() ? `/v1/usage?${query}` : '/v1/usage';
      return call<UsageReport>(path, () => ({ method: 'GET' }), init?.signal);
    },
    models(init) {
      return call<ModelsList>('/v1/models', () => ({ method: 'GET' }), init?.signal);
    },
  };
}
