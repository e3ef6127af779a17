/**
 * The phrase rules both tiers apply to `text`, written once: 1..LIMITS.maxPhrases phrases, each
 * a string, not empty after trimming (String.prototype.trim) and at most LIMITS.maxPhraseChars
 * long. Length is counted in Unicode code points (what a person counts as characters: an emoji
 * or a CJK extension character is one, not two UTF-16 units), at the edge and in the service
 * alike. Errors: 422 `invalid_text` / `too_many_phrases`.
 */
import { ApiError } from './errors.js';
import { LIMITS } from './limits.js';

/** A phrase's length in the unit of LIMITS.maxPhraseChars: Unicode code points. */
export function phraseLength(phrase: string): number {
  let length = 0;
  for (const _ of phrase) length++;
  return length;
}

/** The phrases trimmed, as sent otherwise; throws the ApiError that names the first bad one. */
export function checkPhrases(raw: readonly unknown[]): string[] {
  if (raw.length === 0) throw new ApiError('invalid_text', 'Send at least one phrase in `text`.');
  if (raw.length > LIMITS.maxPhrases) {
    throw new ApiError('too_many_phrases', `At most ${LIMITS.maxPhrases} phrases per request (got ${raw.length}).`);
  }
  return raw.map((value, index) => {
    if (typeof value !== 'string') throw new ApiError('invalid_text', `text[${index}] must be a string.`);
    const phrase = value.trim();
    if (phrase.length === 0) throw new ApiError('invalid_text', `text[${index}] is empty.`);
    const length = phraseLength(phrase);
    if (length > LIMITS.maxPhraseChars) {
      throw new ApiError('invalid_text', `text[${index}] has ${length} characters; at most ${LIMITS.maxPhraseChars}.`);
    }
    return phrase;
  });
}
