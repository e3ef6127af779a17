/** Request limits enforced by the edge and, again, by the GPU service. */
export const LIMITS = {
  /** Whole request body, multipart or JSON. */
  maxBodyBytes: 10 * 1024 * 1024,
  maxPhrases: 16,
  /** Characters per phrase after trimming, counted in Unicode code points (contract/phrases.ts). */
  maxPhraseChars: 200,
  /** Decoded image pixels (width x height); sharp's own limit is set to this. */
  maxImagePixels: 40_000_000,
} as const;
