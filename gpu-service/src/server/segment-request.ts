/**
 * A `POST /v1/segment` body, parsed and validated: multipart with an `image` file, one or more
 * `text` fields and an `options` JSON field (contract ForwardOptionsSchema; `resultKey` comes
 * from the edge, and is derived here with the contract's own function when absent).
 */
import { z } from 'zod';
import { ApiError } from '../../../contract/errors.js';
import { LIMITS } from '../../../contract/limits.js';
import { resultKey } from '../../../contract/result-key.js';
import { ForwardOptionsSchema, type SegmentOptions } from '../../../contract/segment.js';
import { sha256Hex } from '../../../contract/hmac.js';

export interface SegmentRequest {
  image: Uint8Array;
  /** Trimmed, as sent (the tokenizer cleans them further). */
  phrases: string[];
  options: SegmentOptions;
  resultKey: string;
}

const OptionsFieldSchema = ForwardOptionsSchema.extend({ resultKey: ForwardOptionsSchema.shape.resultKey.optional() });

/** Validates phrases: 1..maxPhrases, each 1..maxPhraseChars characters after trimming. */
export function validatePhrases(raw: readonly string[]): string[] {
  if (raw.length === 0) throw new ApiError('invalid_text', 'at least one `text` field is required');
  if (raw.length > LIMITS.maxPhrases) {
    throw new ApiError('too_many_phrases', `at most ${LIMITS.maxPhrases} phrases per request, got ${raw.length}`);
  }
  return raw.map((text, index) => {
    const phrase = text.trim();
    if (phrase.length === 0) throw new ApiError('invalid_text', `text[${index}] is empty`);
    if ([...phrase].length > LIMITS.maxPhraseChars) {
      throw new ApiError('invalid_text', `text[${index}] is longer than ${LIMITS.maxPhraseChars} characters`);
    }
    return phrase;
  });
}

export async function parseSegmentRequest(body: Uint8Array, contentType: string | undefined, model: string): Promise<SegmentRequest> {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new ApiError('unsupported_media_type', 'the body must be multipart/form-data');
  }
  let form: FormData;
  try {
    form = await new Request('http://service.local/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: body as BodyInit,
    }).formData();
  } catch {
    throw new ApiError('bad_request', 'the multipart body could not be parsed');
  }

  const image = form.get('image');
  if (!(image instanceof Blob) || image.size === 0) {
    throw new ApiError('missing_image', 'an `image` file field is required');
  }
  const texts = form.getAll('text');
  if (texts.some((text) => typeof text !== 'string')) {
    throw new ApiError('invalid_text', '`text` fields must be plain strings, not files');
  }
  const phrases = validatePhrases(texts as string[]);

  const options = parseOptions(form.get('options'));
  const imageBytes = new Uint8Array(await image.arrayBuffer());
  const segmentOptions: SegmentOptions = { format: options.format, threshold: options.threshold, presence_threshold: options.presence_threshold };
  const key =
    options.resultKey ??
    (await resultKey({ model, imageSha256: await sha256Hex(imageBytes), phrases, options: segmentOptions }));
  return { image: imageBytes, phrases, options: segmentOptions, resultKey: key };
}

function parseOptions(field: FormDataEntryValue | null): z.infer<typeof OptionsFieldSchema> {
  if (field === null) return { format: 'polygon' };
  if (typeof field !== 'string') throw new ApiError('invalid_options', '`options` must be a JSON string field');
  let json: unknown;
  try {
    json = JSON.parse(field);
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
