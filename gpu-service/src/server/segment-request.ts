/**
 * A `POST /v1/segment` body, parsed and validated: multipart with an `image` file, one or more
 * `text` fields and an `options` JSON field (contract ForwardOptionsSchema; `resultKey` comes
 * from the edge, and is derived here with the contract's own function when absent).
 */
import { z } from 'zod';
import { ApiError } from '../../../contract/errors.js';
import { checkPhrases } from '../../../contract/phrases.js';
import { resultKey } from '../../../contract/result-key.js';
import { ForwardOptionsSchema, type SegmentOptions } from '../../../contract/segment.js';
import type { SegmentRequest } from '../core/jobs.js';
import { sha256Hex } from '../../../contract/hmac.js';
import { MultipartError, multipartBoundary, parseMultipart, type MultipartPart } from './multipart.js';

const UTF8 = new TextDecoder();

const OptionsFieldSchema = ForwardOptionsSchema.extend({ resultKey: ForwardOptionsSchema.shape.resultKey.optional() });

export async function parseSegmentRequest(body: Uint8Array, contentType: string | undefined, model: string): Promise<SegmentRequest> {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new ApiError('unsupported_media_type', 'the body must be multipart/form-data');
  }
  const boundary = multipartBoundary(contentType);
  let parts: MultipartPart[];
  try {
    if (!boundary) throw new MultipartError('no boundary parameter');
    parts = parseMultipart(body, boundary);
  } catch {
    throw new ApiError('bad_request', 'the multipart body could not be parsed');
  }

  const image = parts.find((part) => part.name === 'image');
  if (!image || image.filename === undefined || image.data.length === 0) {
    throw new ApiError('missing_image', 'an `image` file field is required');
  }
  const textParts = parts.filter((part) => part.name === 'text');
  if (textParts.some((part) => part.filename !== undefined)) {
    throw new ApiError('invalid_text', '`text` fields must be plain strings, not files');
  }
  const texts = textParts.map((part) => UTF8.decode(part.data));
  const phrases = checkPhrases(texts);

  const options = parseOptions(parts.find((part) => part.name === 'options'));
  const imageBytes = image.data; // a view into the body: no copy
  const segmentOptions: SegmentOptions = { format: options.format, threshold: options.threshold, presence_threshold: options.presence_threshold };
  if (options.original_size) segmentOptions.original_size = options.original_size;
  const key =
    options.resultKey ??
    (await resultKey({ model, imageSha256: await sha256Hex(imageBytes), phrases, options: segmentOptions }));
  return { image: imageBytes, phrases, options: segmentOptions, resultKey: key, storeImage: options.storeImage };
}

function parseOptions(field: MultipartPart | undefined): z.infer<typeof OptionsFieldSchema> {
  if (field === undefined) return { format: 'polygon' };
  if (field.filename !== undefined) throw new ApiError('invalid_options', '`options` must be a JSON string field');
  let json: unknown;
  try {
    json = JSON.parse(UTF8.decode(field.data));
  } catch {
    throw new ApiError('invalid_options', '`options` is not valid JSON');
  }
  const parsed = OptionsFieldSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError('invalid_options', `options.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
