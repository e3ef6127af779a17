/**
 * Phrase clean-up as CLIP's tokenizer does it before BPE (basic_clean + whitespace_clean +
 * lower-case). The edge uses it for the cache key, the tokenizer before encoding, so two
 * phrasings that tokenize alike share one cached result.
 */

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0',
};

/** One pass of HTML entity decoding (named subset, decimal and hex references). */
export function htmlUnescape(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[body] ?? whole;
  });
}

/** ftfy's Latin ligature table (fix_latin_ligatures). */
const LIGATURES: Record<string, string> = {
  'Ĳ': 'IJ', 'ĳ': 'ij', 'ŉ': 'ʼn', 'Ǳ': 'DZ', 'ǲ': 'Dz', 'ǳ': 'dz', 'Ǆ': 'DŽ', 'ǅ': 'Dž', 'ǆ': 'dž',
  'Ǉ': 'LJ', 'ǈ': 'Lj', 'ǉ': 'lj', 'Ǌ': 'NJ', 'ǋ': 'Nj', 'ǌ': 'nj',
  'ﬀ': 'ff', 'ﬁ': 'fi', 'ﬂ': 'fl', 'ﬃ': 'ffi', 'ﬄ': 'ffl', 'ﬅ': 'ſt', 'ﬆ': 'st',
};

/**
 * The ftfy `fix_text` steps that change ordinary phrases (CLIP's basic_clean runs ftfy first):
 * control characters removed, Latin ligatures expanded, full-width forms to ASCII, curly quotes
 * uncurled. Mojibake repair (fix_encoding) is not reproduced.
 */
export function fixUnicode(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, '')
    .replace(/[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g, (c) => LIGATURES[c] ?? c)
    .replace(/[\uff01-\uffef]/g, (c) => c.normalize('NFKC'))
    .replace(/\u3000/g, ' ')
    .replace(/[\u02bc\u2018-\u201b]/g, "'")
    .replace(/[\u201c-\u201f]/g, '"');
}

export function cleanText(text: string): string {
  const unescaped = htmlUnescape(htmlUnescape(fixUnicode(text).normalize('NFC'))).trim();
  return unescaped.replace(/\s+/g, ' ').trim().toLowerCase();
}
