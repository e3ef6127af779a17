/**
 * ftfy's `fix_encoding` (6.3.1, default options): detect mojibake with its heuristic and undo it by
 * re-encoding in the code page that produced it and decoding as UTF-8, step by step until stable.
 */
import { BADNESS_SOURCE, UTF8_DETECTOR_SOURCE, WINDOWS_1252_STRICT } from './tables.js';
import {
  CODE_PAGES,
  canEncode,
  codePageNamed,
  decodeBinary,
  decodeUtf8,
  decodeUtf8Variants,
  encodeBinary,
  hasAlteredUtf8,
  replaceLossySequences,
  restoreByteA0,
} from './bytes.js';

const BADNESS = new RegExp(BADNESS_SOURCE, 'u');
const UTF8_DETECTOR = new RegExp(UTF8_DETECTOR_SOURCE, 'gu');
const UTF8_DETECTED = new RegExp(UTF8_DETECTOR_SOURCE, 'u');
const C1_PRESENT = /[\x80-\x9f]/;
const UNDEFINED_IN_1252 = /[\x81\x8d\x8f\x90\x9d]/;
const C1_CONTROL = /[\x80-\x9f]/g;
const NON_ASCII = /[^\x00-\x7f]/;
const LATIN_1 = codePageNamed('latin-1');
const SLOPPY_1252 = codePageNamed('sloppy-windows-1252');

/** ftfy.badness.is_bad: the text holds a sequence that is far likelier mojibake than intended. */
export function isBad(text: string): boolean {
  return BADNESS.test(text);
}

/** C1 controls (U+0080..U+009F) as the Windows-1252 characters they stand for. */
export function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROL, (c) => decodeBinary(encodeBinary(c, LATIN_1), SLOPPY_1252.decode));
}

function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR, (part) => (part.length < text.length && isBad(part) ? fixEncoding(part) : part));
}

function redecode(text: string, pageName: string, binary: string): string {
  let bytes = binary;
  if (pageName !== 'macroman' && hasAlteredUtf8(bytes)) bytes = restoreByteA0(bytes);
  if (pageName.startsWith('sloppy')) bytes = replaceLossySequences(bytes);
  return bytes.includes('\xed') || bytes.includes('\xc0') ? decodeUtf8Variants(bytes) : decodeUtf8(bytes);
}

function fixEncodingOneStep(text: string): string {
  if (text.length === 0 || !NON_ASCII.test(text) || !isBad(text)) return text;
  const possible = new Set<string>();
  for (const page of CODE_PAGES) {
    if (!canEncode(text, page)) continue;
    possible.add(page.name);
    try {
      return redecode(text, page.name, encodeBinary(text, page));
    } catch {
      // not UTF-8 in this code page: try the next one
    }
  }
  if (UTF8_DETECTED.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  // (ftfy then asks for "windows-1252" among the possible code pages, a name it never lists)
  if (possible.has('latin-1')) {
    const binary = encodeBinary(text, LATIN_1);
    // strict windows-1252 has no character for 81, 8D, 8F, 90, 9D: Python raises, nothing changes
    const fixed = UNDEFINED_IN_1252.test(binary) ? text : decodeBinary(binary, WINDOWS_1252_STRICT);
    if (fixed !== text) return fixed;
  }
  return C1_PRESENT.test(text) ? fixC1Controls(text) : text;
}

/** ftfy.fix_encoding: one-step repairs until the text stops changing. */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingOneStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}
