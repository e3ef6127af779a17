/**
 * GPT-2/CLIP byte-level alphabet: every byte maps to a printable Unicode character, so BPE
 * works on strings without whitespace or control characters.
 */

/** `bytes_to_unicode()` of CLIP's simple_tokenizer: index = byte value, value = its character. */
export function byteAlphabet(): string[] {
  const printable: number[] = [];
  const ranges: Array<[number, number]> = [
    [0x21, 0x7e], // '!'..'~'
    [0xa1, 0xac], // '¡'..'¬'
    [0xae, 0xff], // '®'..'ÿ'
  ];
  for (const [lo, hi] of ranges) for (let b = lo; b <= hi; b++) printable.push(b);
  const alphabet = new Array<string>(256);
  for (const b of printable) alphabet[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (alphabet[b] === undefined) alphabet[b] = String.fromCodePoint(256 + next++);
  }
  return alphabet;
}

/**
 * The byte characters in the order CLIP builds its vocabulary: list(bytes_to_unicode().values()),
 * i.e. the printable bytes first, then the remapped ones.
 */
export function byteVocabularyOrder(): string[] {
  const alphabet = byteAlphabet();
  const printable: number[] = [];
  const rest: number[] = [];
  for (let b = 0; b < 256; b++) {
    const isPrintable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    (isPrintable ? printable : rest).push(b);
  }
  return [...printable, ...rest].map((b) => alphabet[b]);
}
