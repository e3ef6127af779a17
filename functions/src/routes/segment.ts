/**
 * `POST /v1/segment`: rate-limit token (asked for at once, answered while the body is parsed) ->
 * parse -> result key (bound to the caller's key id: another key's identical request is its own
 * miss) -> (idempotency) -> edge cache -> S3 -> quota reservation -> GPU service -> ledger (a hit
 * is booked by a later KeyMeter call: meter/pending-hits.ts). A client that disconnects before
 * the answer aborts the GPU call and its reservation is released: nothing is billed. `Prefer:
 * respond-async` answers 202 at once and finishes in the background; `Accept: image/png` with one
 * phrase answers the mask PNG.
 */
import type { Context } from 'hono';
import { wrapTime } from 'hono/timing';
import { acceptsPng } from '../../../contract/accept.js';
import { base64ToBytes } from '../../../contract/base64.js';
import { ApiError } from '../../../contract/errors.js';
import { sha256Hex } from '../../../contract/hmac.js';
import { tenantResultKey } from '../../../contract/result-key.js';
import type { PendingResult } from '../../../contract/reports.js';
import type { SegmentResult } from '../../../contract/segment.js';
import { imageObjectKey } from '../../../contract/images.js';
import type { KeyRecord } from '../auth/key-record.js';
import type { AppEnv, EdgeConfig } from '../env.js';
import { resultStoreFor } from '../cache/result-store.js';
import { ClientGone, forwardSegment, type ForwardOutcome, type GpuClientOptions } from '../forward/gpu-client.js';
import { ImageStore } from '../images/image-store.js';
import { checkWebhookUrl, completedEvent, deliverWebhook, failedEvent } from '../webhooks/deliver.js';
import { toApiError } from '../http/errors.js';
import { withIdempotency } from '../http/idempotency.js';
import { parseSegmentRequest, type SegmentRequest } from '../http/segment-request.js';
import { utcDay } from '../meter/calendar.js';
import type { Admission } from '../meter/key-meter.js';
import { keyMeterStub, type MeterStub } from '../meter/meter-stub.js';

export function prefersAsync(prefer: string | undefined): boolean {
  return /(^|[,\s])respond-async\s*(,|;|$)/i.test(prefer ?? '');
}

function render(stored: SegmentResult, cached: boolean, wantsPng: boolean, startedMs: number, imageId: string): Response {
  const result = { ...stored, image_id: imageId }; // results stored before image_id existed lack it
  const headers: Record<string, string> = { 'x-cache': cached ? 'HIT' : 'MISS', 'x-result-id': result.id };
  if (wantsPng) {
    const mask = result.results[0]?.mask;
    if (!mask || mask.format !== 'png') throw new ApiError('upstream_error', 'The GPU tier did not return a PNG mask.');
    return new Response(base64ToBytes(mask.data), { headers: { ...headers, 'content-type': 'image/png' } });
  }
  const timing = cached ? { total_ms: Date.now() - startedMs } : result.timing;
  return new Response(JSON.stringify({ ...result, cached, timing }), {
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
  });
}

interface Job {
  /** The key's rate-limit token, asked for when the request arrived. */
  token: Promise<Admission>;
  request: SegmentRequest;
  id: string;
  imageSha256: string;
  wantsPng: boolean;
  respondAsync: boolean;
  startedMs: number;
  images: ImageStore;
  /** Checked webhook URL and the key's secret (async requests only). */
  webhook?: { url: string; secret: string };
}

function admitted(admission: Admission): string {
  if (!admission.ok) throw new ApiError(admission.code, admission.message, admission.retryAfterSeconds);
  return admission.reservation;
}

/**
 * Cache first: a hit waits only for its rate-limit token (asked for in parallel with parsing) and
 * books its cached phrases in the background; a miss reserves quota, computes, then settles
 * (billing the phrases, or releasing on failure).
 */
async function answer(c: Context<AppEnv>, meter: MeterStub, gpu: GpuClientOptions, job: Job): Promise<Response> {
  const { request, id } = job;
  const units = request.phrases.length;
  const { keyId, limits } = c.get('apiKey');
  const store = resultStoreFor(c);
  const found = await wrapTime(c, 'cache', store.find(id, 'miss'));
  const bookCached = () => {
    const pendingHits = c.get('pendingHits');
    if (pendingHits.add(keyId, utcDay(Date.now()), units)) c.executionCtx.waitUntil(pendingHits.flushLater(keyId, meter));
  };
  if (found) {
    admitted(await wrapTime(c, 'meter', job.token));
    bookCached();
    if (!request.imageId) job.images.keep(keyId, job.imageSha256, request.image, request.imageType, request.options.original_size); // the service never saw it
    if (job.webhook) c.executionCtx.waitUntil(deliverWebhook({ ...job.webhook, event: completedEvent({ ...found.result, image_id: job.imageSha256, cached: true }) }));
    return render(found.result, true, job.wantsPng, job.startedMs, job.imageSha256);
  }
  // The same result being computed in this isolate right now: wait for it instead of computing
  // it twice; it was not computed for this request, so it is booked as cached, not billed.
  // If that request's client leaves (its call is aborted), this one computes for itself.
  const inFlight = c.get('inFlight').get(id);
  if (inFlight && !job.respondAsync) {
    admitted(await wrapTime(c, 'meter', job.token));
    const result = await wrapTime(c, 'coalesced', inFlight).catch((error) => {
      if (error instanceof ClientGone) return null;
      throw error;
    });
    if (result) {
      bookCached();
      return render(result, true, job.wantsPng, job.startedMs, job.imageSha256);
    }
  }
  admitted(await wrapTime(c, 'meter', job.token));
  const reservation = admitted(await wrapTime(c, 'reserve', meter.reserve(limits, units) as Promise<Admission>));
  const settle = (billable: number, cached: number) => meter.settle(reservation, { billable, cached });
  // A service answer coalesced with another request's computation was not computed for this one:
  // its reservation is released and its phrases booked as cached.
  const settleDone = (coalesced: boolean) => (coalesced ? settle(0, units) : settle(units, 0));
  const compute = (): Promise<ForwardOutcome> => {
    const running = forwardSegment(gpu, {
      image: request.image,
      imageType: request.imageType,
      imageSha256: job.imageSha256,
      tenant: keyId,
      phrases: request.phrases,
      options: {
        ...request.options,
        resultKey: id,
        ...(request.imageId ? {} : { storeImage: { key: imageObjectKey(keyId, job.imageSha256), expiresAt: job.images.expiresAt() } }),
      },
    }, {
      clientSignal: job.respondAsync ? undefined : c.req.raw.signal,
      waitUntil: (p) => c.executionCtx.waitUntil(p),
    }).then(({ result, coalesced }) => {
      const stored = { ...result, id };
      store.remember(stored);
      return { result: stored, coalesced };
    });
    const results = running.then((outcome) => outcome.result);
    const inFlightMap = c.get('inFlight');
    inFlightMap.set(id, results);
    const forget = () => {
      if (inFlightMap.get(id) === results) inFlightMap.delete(id);
    };
    results.then(forget, forget);
    return running;
  };
  if (job.respondAsync) {
    c.executionCtx.waitUntil(
      compute().then(
        async (outcome) => {
          await settleDone(outcome.coalesced);
          if (job.webhook) await deliverWebhook({ ...job.webhook, event: completedEvent({ ...outcome.result, image_id: job.imageSha256 }) });
        },
        async (error) => {
          console.warn('async segmentation failed', id, (error as Error).message);
          store.rememberFailure(id, toApiError(error));
          await settle(0, 0);
          if (job.webhook) await deliverWebhook({ ...job.webhook, event: failedEvent(id, toApiError(error)) });
        },
      ),
    );
    const url = store.resultUrl(id);
    const pending: PendingResult = { id, status: 'pending', result_url: url };
    return new Response(JSON.stringify(pending), {
      status: 202,
      headers: { 'content-type': 'application/json; charset=utf-8', location: url, 'preference-applied': 'respond-async', 'retry-after': '1', 'x-result-id': id },
    });
  }
  let response: Response;
  let coalesced = false;
  try {
    const outcome = await wrapTime(c, 'gpu', compute());
    coalesced = outcome.coalesced;
    response = render(outcome.result, outcome.coalesced, job.wantsPng, job.startedMs, job.imageSha256); // throws before billing if unusable
  } catch (error) {
    const release = settle(0, 0).catch((e: Error) => console.warn('releasing a reservation failed', e.message));
    // A client that left is not waited for: its release finishes in the background.
    if (error instanceof ClientGone) c.executionCtx.waitUntil(release);
    else await release;
    throw error;
  }
  // The work is done and this answer carries it: a booking call that times out (it goes on in
  // the background) or fails does not take the answer away (a retry would be a free cache hit).
  await settleDone(coalesced).catch((error: Error) => console.error('billing call failed', keyId, id, error.message));
  return response;
}

/** A webhook needs an async request and a key with a signing secret. */
function webhookFor(url: string, respondAsync: boolean, key: KeyRecord, config: EdgeConfig): { url: string; secret: string } {
  if (!respondAsync) throw new ApiError('invalid_options', '`webhook` needs the header `Prefer: respond-async`.');
  if (!key.webhookSecret) throw new ApiError('invalid_options', `Key ${key.keyId} has no webhook secret yet: \`npm run keys -- webhook-secret ${key.keyId}\` makes one.`);
  return { url: checkWebhookUrl(url, config.webhookAllowHttpLoopback), secret: key.webhookSecret };
}

export async function segmentHandler(c: Context<AppEnv>, gpu: GpuClientOptions): Promise<Response> {
  const startedMs = Date.now();
  const config = c.get('config');
  const { keyId, limits } = c.get('apiKey');
  const meter = keyMeterStub(c.env, config, keyId);
  // The token call also carries this isolate's cache hits of the key not booked yet.
  const token = meter.takeToken(limits, c.get('pendingHits').take(keyId)) as Promise<Admission>;
  token.catch(() => {}); // awaited in answer(); a request that fails before then must not leave it unhandled
  const request = await wrapTime(c, 'parse', c.req.arrayBuffer().then((body) => parseSegmentRequest(c.req.header('content-type'), body)));
  const wantsPng = acceptsPng(c.req.header('accept'));
  if (wantsPng) {
    if (request.phrases.length !== 1) throw new ApiError('invalid_options', '`Accept: image/png` needs exactly one phrase.');
    request.options = { ...request.options, format: 'png' };
  }
  const respondAsync = prefersAsync(c.req.header('prefer'));
  const webhook = request.webhook === undefined ? undefined : webhookFor(request.webhook, respondAsync, c.get('apiKey'), config);
  const images = new ImageStore(config, (p) => c.executionCtx.waitUntil(p));
  if (request.imageId) {
    const stored = await wrapTime(c, 'image', images.fetch(keyId, request.imageId));
    Object.assign(request, { image: stored.bytes, imageType: stored.type });
    // A shrunk upload's masks stay at the photo's size on later phrases.
    if (stored.originalSize && !request.options.original_size) request.options = { ...request.options, original_size: stored.originalSize };
  }
  const imageSha256 = request.imageId ?? (await wrapTime(c, 'hash', sha256Hex(request.image)));
  const id = await tenantResultKey(keyId, { model: config.model, imageSha256, phrases: request.phrases, options: request.options });
  const job: Job = { token, request, id, imageSha256, wantsPng, respondAsync, startedMs, images, webhook };
  const idempotencyKey = c.req.header('idempotency-key');
  if (idempotencyKey === undefined) return answer(c, meter, gpu, job);
  const fingerprint = await sha256Hex(JSON.stringify([imageSha256, request.phrases, request.options, wantsPng, job.respondAsync, request.webhook ?? null]));
  return withIdempotency(meter, idempotencyKey, fingerprint, () => answer(c, meter, gpu, job));
}
