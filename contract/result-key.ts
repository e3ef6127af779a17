/**
 * The result cache key: the same model, image bytes, phrases (as the tokenizer cleans them) and
 * options always give the same key; anything else gives another.
 */
import { cleanText } from './text.js';
import { sha256Hex } from './hmac.js';
import type { SegmentOptions } from './segment.js';

export interface ResultKeyInput {
  /** `<model id>@<version>`. */
  model: string;
  imageSha256: string;
  phrases: readonly string[];
  options: SegmentOptions;
}

export async function resultKey(input: ResultKeyInput): Promise<string> {
  const canonical = JSON.stringify([
    'cris-result/2', // 2: results carry found, presence and regions; options carry presence_threshold
    input.model,
    input.imageSha256,
    input.phrases.map(cleanText),
    input.options.format,
    input.options.threshold ?? null,
    input.options.presence_threshold ?? null,
  ]);
  return sha256Hex(canonical);
}
