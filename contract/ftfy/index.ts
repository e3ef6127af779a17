/**
 * ftfy.fix_text (ftfy 6.3.1, default TextFixerConfig) in TypeScript: what CLIP's basic_clean runs
 * on every phrase. Per line: HTML entities (unless the text has '<'), mojibake repair, C1
 * controls, Latin ligatures, character width, curly quotes, line breaks, lone surrogates,
 * terminal escapes, control characters, NFC; repeated until the line stops changing.
 * Checked against the real ftfy on test/fixtures/ftfy-cases.json (models/tokenizer/make_ftfy_cases.py).
 * Not ported: max_decode_length (segments over 1,000,000 characters; phrases are 200 at most).
 */
import { CONTROL_CHARS, DOUBLE_QUOTES, LIGATURES, SINGLE_QUOTES, WIDTH_MAP } from './tables.js';
import { fixC1Controls, fixEncoding } from './encoding.js';
import { ftfyUnescapeHtml } from './html.js';

export { pythonHtmlUnescape } from './html.js';
export { fixEncoding, isBad } from './encoding.js';

const ligatures = new Map<string, string>(Object.entries(LIGATURES));
const widths = new Map<string, string>(Object.entries(WIDTH_MAP));
const LIGATURE = new RegExp(`[${[...ligatures.keys()].join('')}]`, 'gu');
const WIDE = new RegExp(`[${[...widths.keys()].join('')}]`, 'gu');
const SINGLE_QUOTE = new RegExp(SINGLE_QUOTES, 'gu');
const DOUBLE_QUOTE = new RegExp(DOUBLE_QUOTES, 'gu');
const LINE_BREAK = /\r\n|[\r\u2028\u2029\u0085]/g;
const LONE_SURROGATE = /[\ud800-\udfff]/gu; // with the u flag only unpaired halves match
const TERMINAL_ESCAPE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu;
const CONTROL = new RegExp(`[${[...CONTROL_CHARS].map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join('')}]`, 'gu');

function fixSegment(segment: string, unescapeHtml: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = text.replace(LIGATURE, (c) => ligatures.get(c)!);
    text = text.replace(WIDE, (c) => widths.get(c)!);
    text = text.replace(DOUBLE_QUOTE, '"').replace(SINGLE_QUOTE, "'");
    text = text.replace(LINE_BREAK, '\n');
    text = text.replace(LONE_SURROGATE, '\ufffd');
    text = text.replace(TERMINAL_ESCAPE, '');
    text = text.replace(CONTROL, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/** ftfy.fix_text(text) with its defaults. */
export function fixText(text: string): string {
  let unescapeHtml = true; // "auto": off from the first line holding '<' on, as ftfy's loop does
  let out = '';
  for (let pos = 0; pos < text.length; ) {
    const newline = text.indexOf('\n', pos);
    const end = newline < 0 ? text.length : newline + 1;
    const segment = text.slice(pos, end);
    if (segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}
