/**
 * A `POST /v1/segment` body, parsed and validated: multipart with an `image` file, one or more
 * `text` fields and an `options` JSON field (contract ForwardOptionsSchema; `resultKey` comes
 * from the edge, and is derived here from the contract's resultKeyMaterial when absent). The
 * image is hashed once, here: its image_id, and the derived key's input.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../../../contract/errors.js';
import { checkPhrases } from '../../../contract/phrases.js';
import { resultKeyMaterial } from '../../../contract/result-key.js';
import { ForwardOptionsSchema, type SegmentOptions } from '../../../contract/segment.js';
import type { SegmentRequest } from '../core/jobs.js';
import { MultipartError, multipartBoundary, parseMultipart, type MultipartPart } from './multipart.js';

const UTF8 = new TextDecoder();

/** The `options` field: the edge's ForwardOptions, its resultKey optional (derived here when absent). */
export const OptionsFieldSchema = ForwardOptionsSchema.extend({ resultKey: ForwardOptionsSchema.shape.resultKey.optional() });

export function parseSegmentRequest(body: Uint8Array, contentType: string | undefined, model: string): SegmentRequest {
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
  const imageSha256 = sha256Hex(imageBytes); // image_id, and the result key's
  const segmentOptions: SegmentOptions = { format: options.format, threshold: options.threshold, presence_threshold: options.presence_threshold };
  if (options.original_size) segmentOptions.original_size = options.original_size;
  const key = options.resultKey ?? sha256Hex(resultKeyMaterial({ model, imageSha256, phrases, options: segmentOptions }));
  return { image: imageBytes, imageSha256, phrases, options: segmentOptions, resultKey: key, storeImage: options.storeImage };
}

/** Synchronous and one-shot (node:crypto hash): no WebCrypto job on the thread pool, no promise, no Hash object. */
function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data, 'hex');
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
  const plain = plainOptions(json);
  if (plain) return plain;
  const parsed = OptionsFieldSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError('invalid_options', `options.${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

type OptionsField = z.infer<typeof OptionsFieldSchema>;
const FORMATS: ReadonlySet<unknown> = new Set(ForwardOptionsSchema.shape.format.unwrap().options);
const RESULT_KEY = /^[0-9a-f]{64}$/;

/**
 * The common options (format, threshold, presence_threshold, resultKey: what the edge sends),
 * checked without zod: the value OptionsFieldSchema gives when each is plainly valid; undefined
 * for anything else (other fields, a value out of range, another type), which then goes
 * through the schema and its error messages. segment-request.test.ts holds the two alike.
 */
export function plainOptions(json: unknown): OptionsField | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const out: OptionsField = { format: 'polygon' };
  for (const key in json) {
    const value = (json as Record<string, unknown>)[key];
    if (key === 'format' && FORMATS.has(value)) out.format = value as OptionsField['format'];
    else if (key === 'threshold' && typeof value === 'number' && value > 0 && value < 1) out.threshold = value;
    else if (key === 'presence_threshold' && typeof value === 'number' && value >= 0 && value <= 1) out.presence_threshold = value;
    else if (key === 'resultKey' && typeof value === 'string' && RESULT_KEY.test(value)) out.resultKey = value;
    else return undefined;
  }
  return out;
}
