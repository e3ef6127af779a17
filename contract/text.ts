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

export function cleanText(text: string): string {
  const unescaped = htmlUnescape(htmlUnescape(text.normalize('NFC'))).trim();
  return unescaped.replace(/\s+/g, ' ').trim().toLowerCase();
}
