/**
 * HTML entity decoding as Python does it: `html.unescape` (what CLIP's basic_clean runs twice) and
 * ftfy's stricter `unescape_html` fixer (only `&name;` / `&#...;` with the semicolon).
 */
import { FTFY_UPPER_ENTITIES, HTML5_ENTITIES, INVALID_CHARREFS, INVALID_CODEPOINTS } from './tables.js';

const html5 = new Map<string, string>(Object.entries(HTML5_ENTITIES));
const ftfyUpper = new Map<string, string>(Object.entries(FTFY_UPPER_ENTITIES));
const invalidCharrefs = new Map<number, string>(Object.entries(INVALID_CHARREFS).map(([code, char]) => [Number(code), char]));
const invalidCodepoints = new Set<number>(INVALID_CODEPOINTS);
/** Python's html._charref; `{1,32}` counts code points, as the u flag does. */
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
/** ftfy's HTML_ENTITY_RE. */
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

function numericCharref(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
  const code = parseInt(digits, hex ? 16 : 10); // very long inputs give a huge number (or Infinity): > 0x10FFFF
  const invalid = invalidCharrefs.get(code);
  if (invalid !== undefined) return invalid;
  if ((code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return '\ufffd';
  if (invalidCodepoints.has(code)) return '';
  return String.fromCodePoint(code);
}

function namedCharref(ref: string): string {
  const exact = html5.get(ref);
  if (exact !== undefined) return exact;
  const chars = Array.from(ref); // Python slices code points
  for (let end = chars.length - 1; end > 1; end--) {
    const prefix = html5.get(chars.slice(0, end).join(''));
    if (prefix !== undefined) return prefix + chars.slice(end).join(''); // longest legacy name, e.g. "&ampx"
  }
  return '&' + ref;
}

/** Python's `html.unescape`: every HTML5 named reference (legacy ones without ';' too) and numeric one. */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (_whole, ref: string) => (ref[0] === '#' ? numericCharref(ref) : namedCharref(ref)));
}

/** ftfy's `unescape_html` fixer: complete `&name;` (and ftfy's all-caps variants) and `&#...;` references. */
export function ftfyUnescapeHtml(text: string): string {
  return text.replace(FTFY_ENTITY, (entity) => {
    const named = entity.length > 2 && entity[1] !== '#' ? html5.get(entity.slice(1)) ?? ftfyUpper.get(entity) : undefined;
    if (named !== undefined) return named;
    if (entity.startsWith('&#')) {
      const decoded = pythonHtmlUnescape(entity);
      return decoded.includes(';') ? entity : decoded;
    }
    return entity;
  });
}
