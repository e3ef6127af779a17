/**
 * CLIP's BPE tokenizer (openai/CLIP simple_tokenizer + CRIS `tokenize`), in TypeScript:
 * cleanText -> regex split -> UTF-8 bytes as byte characters -> BPE with `</w>` -> ids;
 * `tokenize` adds SOT/EOT, zero-pads and truncates with EOT kept last.
 */
import { cleanText } from '../../../contract/text.js';
import { byteAlphabet, byteVocabularyOrder } from './bytes.js';
import { readMergesFile, type MergePair } from './merges.js';

const SOT = '<|startoftext|>';
const EOT = '<|endoftext|>';
/** CLIP's split pattern, compiled case-insensitive as the reference does (re.IGNORECASE). */
const SPLIT = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
const END_OF_WORD = '</w>';

export class ClipTokenizer {
  readonly vocabSize: number;
  readonly sotId: number;
  readonly eotId: number;
  readonly padId = 0;
  private readonly encoder = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly byteChars = byteAlphabet();
  private readonly utf8 = new TextEncoder();
  /** Per-tokenizer memo of word -> BPE pieces (bounded). */
  private readonly cache = new Map<string, string[]>();
  /**
   * Memo of phrase -> BPE ids (bounded): a phrase sent again (apps send the same few prompts
   * about new photos) skips the clean-up, the split and the lookups, ~40 us of a request's
   * critical path on a cold event loop.
   */
  private readonly phrases = new Map<string, readonly number[]>();

  constructor(merges: readonly MergePair[]) {
    const vocab = byteVocabularyOrder();
    vocab.push(...vocab.map((c) => c + END_OF_WORD));
    for (const [a, b] of merges) vocab.push(a + b);
    vocab.push(SOT, EOT);
    vocab.forEach((piece, id) => this.encoder.set(piece, id)); // later duplicates win, as dict(zip()) does
    merges.forEach(([a, b], rank) => this.ranks.set(`${a} ${b}`, rank));
    this.vocabSize = vocab.length;
    this.sotId = this.encoder.get(SOT)!;
    this.eotId = this.encoder.get(EOT)!;
  }

  static async fromMergesFile(path: string, mergesUsed?: number): Promise<ClipTokenizer> {
    return new ClipTokenizer(await readMergesFile(path, mergesUsed));
  }

  /** BPE ids of a text, without SOT/EOT. */
  encode(text: string): number[] {
    return this.encodePieces(text).map((piece) => {
      const id = this.encoder.get(piece);
      if (id === undefined) throw new Error(`BPE piece ${JSON.stringify(piece)} is not in the vocabulary`);
      return id;
    });
  }

  /** BPE pieces (strings such as "left</w>") of a text. */
  encodePieces(text: string): string[] {
    const pieces: string[] = [];
    for (const match of cleanText(text).matchAll(SPLIT)) {
      let word = '';
      for (const byte of this.utf8.encode(match[0])) word += this.byteChars[byte];
      pieces.push(...this.bpe(word));
    }
    return pieces;
  }

  /** [texts.length, length] int64 ids: SOT + BPE + EOT, zero padded, truncated with EOT last. */
  tokenize(texts: readonly string[], length: number): BigInt64Array {
    if (!Number.isInteger(length) || length < 2) throw new Error(`token length must be >= 2, got ${length}`);
    const out = new BigInt64Array(texts.length * length); // [N, L], zeros = pad
    texts.forEach((text, row) => {
      const ids = [this.sotId, ...this.phraseIds(text), this.eotId];
      if (ids.length > length) {
        ids.length = length;
        ids[length - 1] = this.eotId;
      }
      ids.forEach((id, col) => (out[row * length + col] = BigInt(id)));
    });
    return out;
  }

  private phraseIds(text: string): readonly number[] {
    let ids = this.phrases.get(text);
    if (!ids) {
      ids = this.encode(text);
      if (this.phrases.size >= 4096) this.phrases.clear();
      this.phrases.set(text, ids);
    }
    return ids;
  }

  private bpe(token: string): string[] {
    if (token === SOT || token === EOT) return [token];
    const cached = this.cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), chars[chars.length - 1] + END_OF_WORD];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(token, word);
    return word;
  }
}
