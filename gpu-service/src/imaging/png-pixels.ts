/**
 * PNG rows -> packed RGB: reversing the five row filters, then samples to RGB the way libspng +
 * libvips give them to sharp (grey replicated, palette looked up with entries past the PLTE's
 * black, 1/2/4-bit grey scaled by bit replication, 16-bit samples' high byte, alpha dropped).
 * The common 8-bit layouts are packed four pixels at a time through 32-bit words.
 */
/** Samples per pixel by colour type: grey, RGB, palette index, grey + alpha, RGBA. */
export const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** What turning samples into RGB needs of a PNG's header. */
export interface PngSamples {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  /** 256 RGB entries, zero past the PLTE's own (libspng's table); palette images only. */
  palette: Uint8Array | null;
}

/** The 32-bit packing reads pixels as little-endian words; elsewhere every pixel goes one by one. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reverses one row's filter: src[s..s+n) filtered -> dst[d..d+n); `p` is the previous
 * reconstructed row's offset in dst (-1 on the first row: a row of zeros). dst may be src with
 * d <= s (each byte is read before the pass writes over it).
 */
export function unfilterRow(filter: number, src: Uint8Array, s: number, dst: Uint8Array, d: number, p: number, n: number, bpp: number): void {
  if (filter === 0 || (filter === 2 && p < 0)) {
    if (src === dst) dst.copyWithin(d, s, s + n);
    else dst.set(src.subarray(s, s + n), d);
  } else if (filter === 1 || (filter === 4 && p < 0)) {
    // Sub; Paeth over a zero row is Sub.
    for (let i = 0; i < bpp; i++) dst[d + i] = src[s + i];
    for (let i = bpp; i < n; i++) dst[d + i] = (src[s + i] + dst[d + i - bpp]) & 255;
  } else if (filter === 2) {
    for (let i = 0; i < n; i++) dst[d + i] = (src[s + i] + dst[p + i]) & 255;
  } else if (filter === 3) {
    if (p < 0) {
      for (let i = 0; i < bpp; i++) dst[d + i] = src[s + i];
      for (let i = bpp; i < n; i++) dst[d + i] = (src[s + i] + (dst[d + i - bpp] >> 1)) & 255;
    } else {
      for (let i = 0; i < bpp; i++) dst[d + i] = (src[s + i] + (dst[p + i] >> 1)) & 255;
      for (let i = bpp; i < n; i++) dst[d + i] = (src[s + i] + ((dst[d + i - bpp] + dst[p + i]) >> 1)) & 255;
    }
  } else {
    for (let i = 0; i < bpp; i++) dst[d + i] = (src[s + i] + dst[p + i]) & 255; // Paeth with a = c = 0 is b
    for (let i = bpp; i < n; i++) {
      const a = dst[d + i - bpp];
      const b = dst[p + i];
      const c = dst[p + i - bpp];
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - c - c);
      dst[d + i] = (src[s + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
    }
  }
}

/** Unfiltered rows (back to back, rowBytes each) -> packed RGB [height, width, 3]; not for 8-bit RGB (already is). */
export function samplesToRgb(samples: Uint8Array, layout: PngSamples, rgb: Uint8Array): void {
  const { width, height, colourType, bitDepth, palette } = layout;
  if (bitDepth < 8) {
    const rowBytes = Math.ceil(width * bitDepth / 8);
    const lut = colourType === 3 ? palette! : greyLut(bitDepth);
    for (let y = 0; y < height; y++) packedIndicesToRgb(samples, y * rowBytes, bitDepth, lut, rgb, y * width * 3, width);
    return;
  }
  const pixels = width * height;
  const step = (CHANNELS[colourType] * bitDepth) >> 3; // bytes per pixel
  const sample = bitDepth >> 3; // bytes per sample: the first is the high byte
  const words = LITTLE_ENDIAN && bitDepth === 8 ? pixels >> 2 : 0;
  if (words) wordsToRgb(samples, colourType, palette, rgb, words);
  for (let i = words * 4, s = i * step, o = i * 3; i < pixels; i++, s += step, o += 3) {
    if (colourType === 3) {
      const e = samples[s] * 3;
      rgb[o] = palette![e];
      rgb[o + 1] = palette![e + 1];
      rgb[o + 2] = palette![e + 2];
    } else if (colourType === 0 || colourType === 4) {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = samples[s];
    } else {
      rgb[o] = samples[s];
      rgb[o + 1] = samples[s + sample];
      rgb[o + 2] = samples[s + 2 * sample];
    }
  }
}

/** The first 4 * words pixels of 8-bit grey, grey + alpha, palette or RGBA samples: 4 pixels -> 3 words. */
function wordsToRgb(samples: Uint8Array, colourType: number, palette: Uint8Array | null, rgb: Uint8Array, words: number): void {
  const out = new Uint32Array(rgb.buffer, rgb.byteOffset, (words * 12) >> 2);
  if (colourType === 6) {
    const input = new Uint32Array(samples.buffer, samples.byteOffset, words * 4);
    for (let g = 0, i = 0, o = 0; g < words; g++, i += 4, o += 3) packFour(out, o, input[i], input[i + 1], input[i + 2], input[i + 3]);
    return;
  }
  if (colourType === 3) {
    const lut = paletteWords(palette!);
    for (let g = 0, i = 0, o = 0; g < words; g++, i += 4, o += 3) packFour(out, o, lut[samples[i]], lut[samples[i + 1]], lut[samples[i + 2]], lut[samples[i + 3]]);
    return;
  }
  // Grey (1 byte a pixel) or grey + alpha (2): g0 g0 g0 g1 | g1 g1 g2 g2 | g2 g3 g3 g3.
  const step = colourType === 4 ? 2 : 1;
  for (let g = 0, i = 0, o = 0; g < words; g++, i += 4 * step, o += 3) {
    const g0 = samples[i];
    const g1 = samples[i + step];
    const g2 = samples[i + 2 * step];
    const g3 = samples[i + 3 * step];
    out[o] = g0 | (g0 << 8) | (g0 << 16) | (g1 << 24);
    out[o + 1] = g1 | (g1 << 8) | (g2 << 16) | (g2 << 24);
    out[o + 2] = g2 | (g3 << 8) | (g3 << 16) | (g3 << 24);
  }
}

/** Four pixels as little-endian words (R | G << 8 | B << 16 | anything << 24) -> three words of RGB. */
function packFour(out: Uint32Array, o: number, p0: number, p1: number, p2: number, p3: number): void {
  out[o] = (p0 & 0xffffff) | (p1 << 24);
  out[o + 1] = ((p1 >>> 8) & 0xffff) | (p2 << 16);
  out[o + 2] = ((p2 >>> 16) & 0xff) | (p3 << 8);
}

/** Palette entries as words, R | G << 8 | B << 16. */
function paletteWords(palette: Uint8Array): Uint32Array {
  const words = new Uint32Array(256);
  for (let i = 0; i < 256; i++) words[i] = palette[3 * i] | (palette[3 * i + 1] << 8) | (palette[3 * i + 2] << 16);
  return words;
}

/** 1, 2 and 4-bit grey as RGB entries: bit replication (x 255, 85, 17), as libspng scales them. */
function greyLut(bitDepth: number): Uint8Array {
  const levels = 1 << bitDepth;
  const lut = new Uint8Array(levels * 3);
  for (let v = 0; v < levels; v++) lut.fill((v * 255) / (levels - 1), 3 * v, 3 * v + 3);
  return lut;
}

/** One row of 1, 2 or 4-bit samples (first sample in the high bits) through an RGB table. */
function packedIndicesToRgb(row: Uint8Array, r: number, bitDepth: number, lut: Uint8Array, rgb: Uint8Array, o: number, width: number): void {
  const perByte = 8 / bitDepth;
  const mask = (1 << bitDepth) - 1;
  for (let x = 0; x < width; x++, o += 3) {
    const e = ((row[r + Math.floor(x / perByte)] >> (8 - bitDepth * (1 + (x % perByte)))) & mask) * 3;
    rgb[o] = lut[e];
    rgb[o + 1] = lut[e + 1];
    rgb[o + 2] = lut[e + 2];
  }
}
