/**
 * JPEG -> packed RGB without sharp, for the small files where that is cheaper: libjpeg-turbo
 * compiled to WebAssembly (@cornerstonejs/codec-libjpeg-turbo-8bit: TurboJPEG's tjDecompress2
 * with no flags, i.e. the ISLOW inverse DCT and fancy upsampling, what sharp's libvips asks of its
 * libjpeg-turbo), run synchronously on the calling thread (no libuv or libvips thread hand-offs,
 * no pipeline set-up: sharp's ~1 ms fixed cost per call). The WebAssembly build has no SIMD: per
 * pixel it costs several times what native libjpeg-turbo does, so past JPEG_WASM_MAX_PIXELS sharp
 * is cheaper and decodes as before.
 *
 * Only files whose result is known to equal sharp's are decoded here: 8-bit baseline, extended or
 * progressive Huffman frames, grey or YCbCr (three components, no Adobe marker, ids not 'R' 'G'
 * 'B', a subsampling of LUMA_SAMPLING), an EXIF orientation read with certainty (jpeg-layout.ts).
 * Everything else, and every file libjpeg-turbo warns about (corrupt or truncated data: TurboJPEG
 * fails on warnings), answers null and the caller decodes with sharp, so broken files keep
 * sharp's behaviour and error codes. The one known difference: damage inside the entropy-coded
 * data that libjpeg decodes without a warning can give coefficients out of range, where the C
 * inverse DCT (this build) and the SIMD one (sharp's) differ in some pixels of the garbage; the
 * answer's code and size stay sharp's (measured: 21 of 6,000 random mutations of small files, all
 * of them two inserted bytes; jpeg-decode.test.ts checks 600). The caller checks the stored size
 * against the pixel limit (imageDimensions) before this runs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Dimensions } from '../admission/image-dimensions.js';
import type { ArrayPool } from '../core/array-pool.js';
import { readJpegLayout, type JpegLayout } from './jpeg-layout.js';
import { orientToRgb, type Oriented } from './orient.js';
import { uninitialised } from './uninitialised.js';

/**
 * Decoded here up to this many stored pixels (about 480x416), where sharp's fixed cost outweighs
 * the slower per-pixel work. CPU ms per call, warmed up, load 8 (A B B A): photos at quality
 * 70 / 90, 240x180 0.86 / 1.18 here against 1.86 / 2.09 through sharp, 320x240 1.44 / 1.59 against
 * 2.38 / 2.36, 480x360 2.58 / 3.22 against 3.24 / 3.39; bench scenes 480x360 1.85 against 2.86;
 * at 640x480 sharp is ahead for photos (bench/decode-ab.ts times the 480x360 and 640x480 ones).
 */
export const JPEG_WASM_MAX_PIXELS = 200_000;
/** Larger files (a small image with megabytes of metadata) go to sharp: the module's heap is fixed. */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;
/**
 * Each failed decode leaks a few KB inside the module (the C++ exception it throws is never
 * freed); after this many the module is dropped and a fresh one made (~6 ms).
 */
const FAILURES_PER_MODULE = 64;

interface TurboDecoder {
  getEncodedBuffer(size: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; componentCount: number };
  getDecodedBuffer(): Uint8Array;
}
interface TurboModule {
  JPEGDecoder: new () => TurboDecoder;
}
type TurboFactory = (options: { instantiateWasm: (imports: WebAssembly.Imports, ready: (instance: WebAssembly.Instance) => void) => object }) => Promise<TurboModule>;

/** One per thread: the compiled code, the module instance and its decoder, made on first use. */
class TurboJpeg {
  private compiled: WebAssembly.Module | null = null;
  private decoder: Promise<TurboDecoder> | null = null;
  private failures = 0;

  async instance(): Promise<TurboDecoder> {
    this.decoder ??= this.create();
    return this.decoder;
  }

  failed(): void {
    if (++this.failures < FAILURES_PER_MODULE) return;
    this.failures = 0;
    this.decoder = null;
  }

  private async create(): Promise<TurboDecoder> {
    const require = createRequire(import.meta.url);
    const factory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs') as TurboFactory;
    this.compiled ??= new WebAssembly.Module(readFileSync(require.resolve('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm')));
    const compiled = this.compiled;
    const module = await factory({
      instantiateWasm: (imports, ready) => {
        ready(new WebAssembly.Instance(compiled, imports));
        return {};
      },
    });
    return new module.JPEGDecoder();
  }
}

const turbo = new TurboJpeg();

/** Oriented packed RGB of a JPEG this path covers; null for every other file. With a pool the pixels are taken from it (the caller gives them back). */
export async function decodeJpegRgb(bytes: Uint8Array, stored: Dimensions, pool?: ArrayPool): Promise<Oriented | null> {
  if (stored.width * stored.height > JPEG_WASM_MAX_PIXELS || bytes.length > MAX_INPUT_BYTES) return null;
  const layout = readJpegLayout(bytes);
  if (!layout || !covered(layout) || layout.width !== stored.width || layout.height !== stored.height) return null;
  const decoder = await turbo.instance();
  let decoded: Uint8Array;
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    decoded = decoder.getDecodedBuffer(); // a view of the module's heap, valid until the next call
  } catch {
    turbo.failed();
    return null;
  }
  const channels = layout.components.length as 1 | 3;
  if (decoded.length !== layout.width * layout.height * channels) return null;
  const length = decoded.length * (3 / channels);
  return orientToRgb(decoded, layout.width, layout.height, channels, layout.orientation, pool ? pool.uint8(length) : uninitialised(length));
}

const SOF_BASELINE = 0xc0;
const SOF_EXTENDED = 0xc1;
const SOF_PROGRESSIVE = 0xc2;

/** Luma sampling factors tested against sharp (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1), chroma at 1x1. */
const LUMA_SAMPLING = new Set(['1x1', '2x1', '2x2', '1x2', '4x1']);

function covered(layout: JpegLayout): boolean {
  const { sof, precision, components, adobe } = layout;
  if ((sof !== SOF_BASELINE && sof !== SOF_EXTENDED && sof !== SOF_PROGRESSIVE) || precision !== 8 || adobe) return false;
  if (components.length === 1) return true;
  if (components.length !== 3) return false;
  const [y, cb, cr] = components;
  const rgbIds = y.id === 0x52 && cb.id === 0x47 && cr.id === 0x42;
  const chroma1x1 = cb.h === 1 && cb.v === 1 && cr.h === 1 && cr.v === 1;
  return !rgbIds && chroma1x1 && LUMA_SAMPLING.has(`${y.h}x${y.v}`);
}
