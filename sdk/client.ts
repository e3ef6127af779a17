/**
 * The API client: `fetch` only, so the same code runs in browsers, React Native and Node 18+.
 *
 *   const cris = createClient({ endpoint: 'https://api.example.com', apiKey });
 *   const result = await cris.segment({ image, text: 'the red circle', format: 'rle' });
 */
import { retryPolicy, sleep, type RetryOptions } from './retry.js';
import { prepareUpload, SHRINK_QUALITY, shrinkSide, type ShrinkMode, type ShrinkSettings } from './shrink.js';
import { createTransport, type CallOptions, type RequestSpec } from './transport.js';
import { segmentBody, type ImageInput } from './upload.js';
import { newIdempotencyKey, waitForResult, type WaitOptions } from './wait.js';
import type { MaskFormat, ModelsList, PendingResult, SegmentResult, Size, UsageReport } from './wire.js';

export interface SegmentParams extends CallOptions {
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
  /**
   * Sent as `Idempotency-Key`, the same on every retry of this call, so a retried POST is answered
   * once (default: a new random key per call). `false`: none, and then the POST is never retried.
   */
  idempotencyKey?: string | false;
}

export interface SubmitParams extends SegmentParams {
  /** POST the result here when it is ready, signed (Standard Webhooks; the key needs a webhook secret). */
  webhook?: string;
}

export interface ClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:8787`. */
  endpoint: string;
  apiKey: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** Milliseconds for one call, retries included (default 60000; 0: none). */
  timeout?: number;
  /** Upload encoding of shrunk photos (default JPEG, quality 0.85). */
  shrinkEncoding?: { type: 'image/jpeg' | 'image/webp'; quality: number };
  /** Waits between retries and polls; tests pass a fake. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CrisClient {
  segment(params: SegmentParams): Promise<SegmentResult>;
  /**
   * `Prefer: respond-async`: the API answers at once, with the result when it is cached, else
   * `{ status: 'pending', id }` to pass to `waitForResult` (or a webhook delivers it).
   */
  submit(params: SubmitParams): Promise<SegmentResult | PendingResult>;
  /** Polls `GET /v1/results/{id}` until the result is stored (or stored as failed: thrown). */
  waitForResult(id: string, options?: WaitOptions): Promise<SegmentResult>;
  getResult(id: string, options?: CallOptions): Promise<SegmentResult>;
  /** Usage between two UTC days (YYYY-MM-DD, default this month). */
  usage(options?: CallOptions & { from?: string; to?: string }): Promise<UsageReport>;
  models(options?: CallOptions): Promise<ModelsList>;
}

/** Whether `submit` answered "still computing". */
export function isPending(answer: SegmentResult | PendingResult): answer is PendingResult {
  return (answer as PendingResult).status === 'pending';
}

export const DEFAULT_TIMEOUT_MS = 60_000;

export function createClient(options: ClientOptions): CrisClient {
  if (!options.endpoint) throw new TypeError('createClient: endpoint is required');
  if (!options.apiKey) throw new TypeError('createClient: apiKey is required');
  const wait = options.sleep ?? sleep;
  const send = createTransport({
    endpoint: options.endpoint,
    apiKey: options.apiKey,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    retry: retryPolicy(options.retry),
    timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
    sleep: wait,
  });
  const get = async <T>(path: string, call?: CallOptions): Promise<T> => (await send({ method: 'GET', path }, call)).body as T;

  let shrinkSettings: Promise<ShrinkSettings> | undefined;
  /** Asked once per client: the default model's input size from GET /v1/models. */
  const settings = (call: CallOptions): Promise<ShrinkSettings> => {
    shrinkSettings ??= get<ModelsList>('/v1/models', call).then((report) => ({
      maxSide: shrinkSide((report.data.find((model) => model.default) ?? report.data[0])?.input_size),
      type: options.shrinkEncoding?.type ?? 'image/jpeg',
      quality: options.shrinkEncoding?.quality ?? SHRINK_QUALITY,
    }));
    shrinkSettings.catch(() => (shrinkSettings = undefined));
    return shrinkSettings;
  };

  /** The POST of `segment` and `submit`: shrunk once, the same body and key on every attempt. */
  async function post(params: SubmitParams, headers: Record<string, string>) {
    const { image, imageId, shrink = 'auto', originalSize, text, signal, timeout } = params;
    const phrases = Array.isArray(text) ? text : [text];
    if (phrases.length === 0) throw new TypeError('segment: at least one phrase is required');
    if ((image === undefined) === (imageId === undefined)) throw new TypeError('segment: pass either image or imageId');
    const call = { signal, timeout };
    const upload = image === undefined ? undefined : originalSize ? { image, originalSize } : await prepareUpload(image, shrink, () => settings(call));
    const body = await segmentBody(upload?.image as ImageInput | undefined, {
      imageId,
      phrases,
      format: params.format,
      threshold: params.threshold,
      presence_threshold: params.presence_threshold,
      originalSize: upload?.originalSize,
      webhook: params.webhook,
    });
    const key = params.idempotencyKey ?? newIdempotencyKey();
    const spec: RequestSpec = { method: 'POST', path: '/v1/segment', headers: { ...headers, ...(key === false ? {} : { 'idempotency-key': key }) }, body };
    return send(spec, call);
  }

  return {
    async segment(params) {
      if ((params as SubmitParams).webhook !== undefined) throw new TypeError('segment: a webhook needs submit()');
      return (await post(params, {})).body as SegmentResult;
    },
    async submit(params) {
      return (await post(params, { prefer: 'respond-async' })).body as SegmentResult | PendingResult;
    },
    waitForResult(id, waitOptions) {
      return waitForResult(send, wait, id, waitOptions);
    },
    getResult(id, call) {
      return get<SegmentResult>(`/v1/results/${encodeURIComponent(id)}`, call);
    },
    usage(init) {
      const query = new URLSearchParams();
      if (init?.from) query.set('from', init.from);
      if (init?.to) query.set('to', init.to);
      return get<UsageReport>(query.toString() ? `/v1/usage?${query}` : '/v1/usage', init);
    },
    models(call) {
      return get<ModelsList>('/v1/models', call);
    },
  };
}
