/**
 * Phrase clean-up as CLIP's tokenizer does it before BPE: basic_clean (ftfy.fix_text, then
 * html.unescape twice, strip) + whitespace_clean + lower-case. The edge uses it for the cache key,
 * the tokenizer before encoding, so two phrasings that tokenize alike share one cached result.
 */
import { fixText, pythonHtmlUnescape } from './ftfy/index.js';
import { PY_ISSPACE, REGEX_SPACE } from './ftfy/tables.js';

const charClass = (chars: string) => `[${[...chars].map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join('')}]`;
/** CLIP's `regex` \s (Unicode White_Space). */
const WHITESPACE_RUN = new RegExp(`${charClass(REGEX_SPACE)}+`, 'gu');
/** Python's str.strip() (str.isspace(): also U+001C..U+001F, unlike JavaScript's trim()). */
const EDGE_SPACE = new RegExp(`^${charClass(PY_ISSPACE)}+|${charClass(PY_ISSPACE)}+$`, 'gu');

const pythonStrip = (text: string) => text.replace(EDGE_SPACE, '');

export function cleanText(text: string): string {
  const basic = pythonStrip(pythonHtmlUnescape(pythonHtmlUnescape(fixText(text))));
  return pythonStrip(basic.replace(WHITESPACE_RUN, ' ')).toLowerCase();
}
