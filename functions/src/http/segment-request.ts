/**
 * Parses and checks a `POST /v1/segment` body (multipart or JSON) into one typed request.
 * Errors: 415 for other media types, 400 for a missing image or malformed body, 422 for bad
 * phrases or options.
 */
import { base64ToBytes } from '../../../contract/base64.js';
import { ApiError } from '../../../contract/errors.js';
import { IMAGE_ID_PATTERN } from '../../../contract/images.js';
import { checkPhrases } from '../../../contract/phrases.js';
import { SegmentOptionsSchema, type SegmentOptions } from '../../../contract/segment.js';

export interface SegmentRequest {
  /** Empty when the request names a stored image by `imageId` (the route fetches it). */
  image: Uint8Array;
  imageType: string;
  /** `image_id` of an earlier answer, sent instead of the image. */
  imageId?: string;
  /** Where to POST the result when it is ready (with `Prefer: respond-async`). */
  webhook?: string;
  /** As sent, trimmed. */
  phrases: string[];
  options: SegmentOptions;
}

function checkOptions(raw: Record<string, unknown>): SegmentOptions {
  const parsed = SegmentOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError('invalid_options', `Option ${issue.path.join('.') || '(options)'}: ${issue.message}.`);
  }
  return parsed.data;
}

function numberOrSelf(value: unknown): unknown {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const number = Number(value);
  return Number.isFinite(number) ? number : value;
}

function decodeBase64Image(value: unknown): { image: Uint8Array; imageType: string } {
  if (typeof value !== 'string' || value.length === 0) throw new ApiError('missing_image', 'Send the image as base64 in `image`.');
  const dataUrl = /^data:([^;,]+)?;base64,/.exec(value);
  const payload = (dataUrl ? value.slice(dataUrl[0].length) : value).replace(/\s+/g, '');
  let image: Uint8Array;
  try {
    image = base64ToBytes(payload);
  } catch {
    throw new ApiError('invalid_image', '`image` is not valid base64.');
  }
  if (image.length === 0) throw new ApiError('missing_image', '`image` is empty.');
  return { image, imageType: dataUrl?.[1] ?? 'application/octet-stream' };
}

function checkImageId(value: unknown): string {
  if (typeof value !== 'string' || !IMAGE_ID_PATTERN.test(value)) {
    throw new ApiError('bad_request', '`image_id` must be the 64 hex characters of an earlier answer\'s `image_id`.');
  }
  return value;
}

function checkWebhook(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ApiError('invalid_options', '`webhook` must be a URL string.');
  return value;
}

/** Options are fields of their own; an `options` object (the GPU service's internal field) is not part of the public API. */
function noOptionsObject(): ApiError {
  return new ApiError('invalid_options', 'There is no `options` field: send `format`, `threshold`, `presence_threshold` and `original_size` as fields of their own.');
}

/** A JSON object option sent as a multipart field (e.g. `original_size={"width":4032,"height":3024}`). */
function jsonField(value: string, name: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new ApiError('invalid_options', `The \`${name}\` field is not valid JSON.`);
  }
}

async function fromMultipart(contentType: string, body: ArrayBuffer): Promise<SegmentRequest> {
  let form: FormData;
  try {
    form = await new Request('http://body.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body }).formData();
  } catch {
    throw new ApiError('bad_request', 'The multipart body could not be parsed.');
  }
  // With this compatibility date file fields parse as File (the default types predate that).
  const file = form.get('image') as unknown as File | string | null;
  const imageIdField = form.get('image_id');
  const imageId = file === null && imageIdField !== null ? checkImageId(imageIdField) : undefined;
  if (imageId === undefined && (file === null || typeof file === 'string')) {
    throw new ApiError('missing_image', 'Send the image as a file field `image`, or the `image_id` of an earlier answer.');
  }
  const image = imageId === undefined ? new Uint8Array(await (file as File).arrayBuffer()) : new Uint8Array(0);
  if (imageId === undefined && image.length === 0) throw new ApiError('missing_image', 'The image file is empty.');
  if (form.has('options')) throw noOptionsObject();
  const options: Record<string, unknown> = {};
  for (const name of ['format', 'threshold', 'presence_threshold'] as const) {
    const field = form.get(name);
    if (typeof field === 'string') options[name] = numberOrSelf(field);
  }
  const originalSize = form.get('original_size');
  if (typeof originalSize === 'string') options.original_size = jsonField(originalSize, 'original_size');
  const webhook = form.get('webhook');
  return {
    image,
    imageType: imageId === undefined ? (file as File).type : '',
    imageId,
    webhook: checkWebhook(webhook ?? undefined),
    phrases: checkPhrases(form.getAll('text')),
    options: checkOptions(options),
  };
}

function fromJson(body: ArrayBuffer): SegmentRequest {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
  } catch {
    throw new ApiError('bad_request', 'The body is not valid JSON.');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ApiError('bad_request', 'The body must be a JSON object.');
  }
  const imageId = payload.image === undefined && payload.image_id !== undefined ? checkImageId(payload.image_id) : undefined;
  const { image, imageType } = imageId === undefined ? decodeBase64Image(payload.image) : { image: new Uint8Array(0), imageType: '' };
  const text = payload.text;
  const phrases = checkPhrases(Array.isArray(text) ? text : text === undefined ? [] : [text]);
  if (payload.options !== undefined) throw noOptionsObject();
  const options: Record<string, unknown> = {};
  if (payload.format !== undefined) options.format = payload.format;
  if (payload.threshold !== undefined) options.threshold = payload.threshold;
  if (payload.presence_threshold !== undefined) options.presence_threshold = payload.presence_threshold;
  if (payload.original_size !== undefined) options.original_size = payload.original_size;
  return { image, imageType, imageId, webhook: checkWebhook(payload.webhook), phrases, options: checkOptions(options) };
}

export async function parseSegmentRequest(contentType: string | undefined, body: ArrayBuffer): Promise<SegmentRequest> {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType === 'multipart/form-data') return fromMultipart(contentType ?? '', body);
  if (mediaType === 'application/json') return fromJson(body);
  throw new ApiError('unsupported_media_type', 'Send multipart/form-data or application/json.');
}
