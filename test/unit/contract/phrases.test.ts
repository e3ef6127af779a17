import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { LIMITS } from '../../../contract/limits.js';
import { checkPhrases, phraseLength } from '../../../contract/phrases.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
  return 'ok';
};

describe('phrase rules (edge and service alike)', () => {
  it('counts length in code points, not UTF-16 units', () => {
    expect(phraseLength('the dog')).toBe(7);
    expect(phraseLength('🐕🐕')).toBe(2); // 4 UTF-16 units
    expect(phraseLength('𠀀x')).toBe(2);
  });

  it('takes maxPhraseChars emoji and refuses one more', () => {
    const emoji = '🐕'.repeat(LIMITS.maxPhraseChars);
    expect(emoji.length).toBe(2 * LIMITS.maxPhraseChars);
    expect(checkPhrases([emoji])).toEqual([emoji]);
    expect(code(() => checkPhrases([`${emoji}x`]))).toBe('invalid_text');
    expect(code(() => checkPhrases(['a'.repeat(LIMITS.maxPhraseChars + 1)]))).toBe('invalid_text');
  });

  it('trims, and refuses none, too many, empty and non-strings', () => {
    expect(checkPhrases(['  the red circle \n'])).toEqual(['the red circle']);
    expect(code(() => checkPhrases([]))).toBe('invalid_text');
    expect(code(() => checkPhrases(Array(LIMITS.maxPhrases + 1).fill('x')))).toBe('too_many_phrases');
    expect(checkPhrases(Array(LIMITS.maxPhrases).fill('x'))).toHaveLength(LIMITS.maxPhrases);
    expect(code(() => checkPhrases(['ok', '   ']))).toBe('invalid_text');
    expect(code(() => checkPhrases([42]))).toBe('invalid_text');
  });
});
