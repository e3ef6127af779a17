/**
 * Byte-level pieces of ftfy's mojibake repair, on "binary strings" (one char per byte, 0..255):
 * the single-byte code pages, strict UTF-8 and ftfy's "utf-8-variants" (CESU-8 surrogate pairs,
 * Java's C0 80 null), and the two byte-level repairs (restore_byte_a0, replace_lossy_sequences).
 */
import { CHARMAP_ENCODINGS } from './tables.js';

export interface CodePage {
  readonly name: string;
  /** byte -> character (256 entries). */
  readonly decode: string;
  /** character -> byte. */
  readonly encode: ReadonlyMap<string, number>;
  /** Characters a text may hold to be encodable here (chardata.ENCODING_REGEXES). */
  readonly allowed: ReadonlySet<string>;
}

function codePage(name: string, decode: string): CodePage {
  const encode = new Map<string, number>();
  for (let byte = 255; byte >= 0; byte--) encode.set(decode[byte], byte);
  const allowed = new Set<string>();
  for (let code = 0; code < 0x80; code++) if (code !== 0x1a) allowed.add(String.fromCharCode(code));
  for (let byte = 0x80; byte < 0x100; byte++) allowed.add(decode[byte]);
  allowed.add(decode[0x1a]);
  return { name, decode, encode, allowed };
}

/** ftfy's CHARMAP_ENCODINGS, in the order it tries them. */
export const CODE_PAGES: readonly CodePage[] = CHARMAP_ENCODINGS.map(([name, table]) => codePage(name, table));

export function codePageNamed(name: string): CodePage {
  const page = CODE_PAGES.find((p) => p.name === name);
  if (!page) throw new Error(`no code page ${name}`);
  return page;
}

export function canEncode(text: string, page: CodePage): boolean {
  for (const char of text) if (!page.allowed.has(char)) return false;
  return true;
}

/** text -> binary string in a code page (every character must be allowed). */
export function encodeBinary(text: string, page: CodePage): string {
  let out = '';
  for (const char of text) out += String.fromCharCode(page.encode.get(char)!);
  return out;
}

export function decodeBinary(binary: string, table: string): string {
  let out = '';
  for (let i = 0; i < binary.length; i++) out += table[binary.charCodeAt(i)];
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function binaryToBytes(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Strict UTF-8 (Python's "utf-8"): throws on any invalid sequence. */
export function decodeUtf8(binary: string): string {
  return strictUtf8.decode(binaryToBytes(binary));
}

const CESU8_PAIR = /^\xed[\xa0-\xaf][\x80-\xbf]\xed[\xb0-\xbf][\x80-\xbf]/;

/** ftfy's "utf-8-variants": UTF-8 plus CESU-8 surrogate pairs and C0 80 for U+0000; throws otherwise. */
export function decodeUtf8Variants(binary: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < binary.length; ) {
    const byte = binary.charCodeAt(i);
    const next = binary.charCodeAt(i + 1);
    let special: string | undefined;
    let length = 0;
    if (byte === 0xc0 && next === 0x80) [special, length] = ['\u0000', 2];
    else if (byte === 0xed && next >= 0xa0 && next <= 0xbf) {
      const pair = CESU8_PAIR.exec(binary.slice(i, i + 6));
      if (!pair) throw new TypeError('invalid utf-8-variants surrogate sequence');
      const b = binaryToBytes(pair[0]);
      const code = ((b[1] & 0x0f) << 16) + ((b[2] & 0x3f) << 10) + ((b[4] & 0x0f) << 6) + (b[5] & 0x3f) + 0x10000;
      [special, length] = [String.fromCodePoint(code), 6];
    }
    if (special === undefined) {
      i += 1;
      continue;
    }
    out += decodeUtf8(binary.slice(start, i)) + special;
    i += length;
    start = i;
  }
  return out + decodeUtf8(binary.slice(start));
}

const A_GRAVE_WORD = /\xc3 (?! |quele|quela|quilo|s )/g;
const ALTERED_UTF8 =
  /[\xc2\xc3\xc5\xce\xd0\xd9][ ]|[\xe2\xe3][ ][\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf][ ]|[\xf0][ ][\x80-\xbf][\x80-\xbf]|[\xf0][\x80-\xbf][ ][\x80-\xbf]|[\xf0][\x80-\xbf][\x80-\xbf][ ]/g;
const LOSSY_UTF8 =
  /[\xc2-\xdf][\x1a]|[\xc2-\xc3][?]|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a/g;

export function hasAlteredUtf8(binary: string): boolean {
  ALTERED_UTF8.lastIndex = 0;
  return ALTERED_UTF8.test(binary);
}

/** A space that was a no-break space (byte A0) inside a UTF-8 sequence, put back. */
export function restoreByteA0(binary: string): string {
  return binary.replace(A_GRAVE_WORD, '\xc3\xa0 ').replace(ALTERED_UTF8, (m) => m.replace(/ /g, '\xa0'));
}

/** UTF-8 sequences partly lost to '?' or U+FFFD (byte 1A in sloppy code pages) become one U+FFFD. */
export function replaceLossySequences(binary: string): string {
  return binary.replace(LOSSY_UTF8, '\xef\xbf\xbd');
}
