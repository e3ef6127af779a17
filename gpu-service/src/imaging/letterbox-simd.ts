/**
 * The fused letterbox (warpCubicU8ToChwJs in letterbox-fused.ts) in WebAssembly SIMD: the same
 * [3, S, S] float32 values to the bit, several times faster (letterbox-simd.wat). This side lays
 * the work out in the module's memory: the weight table (once), the normalisation tables, the
 * per-column and per-row window offsets, and the source staged in one copy; the module's
 * `layout` then places the rows the windows read between gaps of the border colour, so that
 * windows across an edge need no special case. The memory grows to the largest layout seen by
 * its thread (about 2x the source bytes) and is reused.
 */
import { cvRound, INTER_BITS, TAB_SIZE, TABLES } from './cubic-table.js';
import { LETTERBOX_SIMD_WASM } from './letterbox-simd-bytes.js';
import type { WarpInput, WarpOptions } from './warp.js';

const GAP = 3 * 3; // border-colour bytes between source rows: a window reaches 3 pixels past an edge
const READ_SLACK = 16; // a window row of 12 bytes is read as 16
/** Larger layouts take the JS path (addresses stay far below 2^31, where the module's sentinels live). */
const MAX_BYTES = 1 << 30;
const PAGE = 65536;

interface Exports {
  memory: WebAssembly.Memory;
  layout(stage: number, rowBytes: number, rowOf: number, n: number, slots: number, c0: number, c1: number, c2: number): void;
  letterbox(cols: number, W: number, rows: number, H: number, out: number, pad0: number, pad1: number, pad2: number): void;
  /** Where the [3, 256] f32 normalisation tables go, and where the per-call layout may start. */
  lut_at: WebAssembly.Global;
  params_at: WebAssembly.Global;
}

/** One compiled instance and its memory, per thread (created on first use). */
class SimdLetterbox {
  private readonly exports: Exports;

  constructor() {
    const module = new WebAssembly.Module(Buffer.from(LETTERBOX_SIMD_WASM, 'base64'));
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    const weights = new Int16Array(this.exports.memory.buffer, 0, TABLES.fixed.length); // [1024, 16] at 0
    weights.set(TABLES.fixed); // every weight fits in int16 (|w| <= 2^15 - 1)
  }

  /** Memory of at least `bytes`; views taken before a call to this are stale afterwards. */
  private reserve(bytes: number): ArrayBuffer {
    const memory = this.exports.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    return memory.buffer;
  }

  run(input: WarpInput<Uint8Array>, opts: WarpOptions, samples: { x: Int32Array; y: Int32Array }, tables: readonly Float32Array[], into?: Float32Array): Float32Array | null {
    const { src, width, height } = input;
    const W = opts.dstWidth;
    const H = opts.dstHeight;
    const cval = opts.border.map((v) => Math.max(0, Math.min(255, cvRound(v))));
    const mask = TAB_SIZE - 1;
    // Source rows the windows read, each given a slot in order of first use.
    const slotOf = new Int32Array(height).fill(-1);
    const used: number[] = [];
    const outside = (sy: number) => sy >= height || sy + 4 <= 0; // the window misses the source
    for (let y = 0; y < H; y++) {
      const sy = (samples.y[y] >> INTER_BITS) - 1;
      if (outside(sy)) continue;
      for (let r = Math.max(0, sy); r < Math.min(height, sy + 4); r++) {
        if (slotOf[r] < 0) {
          slotOf[r] = used.length;
          used.push(r);
        }
      }
    }
    const rowBytes = width * 3;
    const slotStride = rowBytes + GAP;
    // Most rows read (all of them when the map shrinks by less than 4): the source is staged
    // whole in one copy, else only the rows read, one copy each.
    const stageWhole = used.length * 2 >= height;
    const lutAt: number = this.exports.lut_at.value;
    const colsAt: number = this.exports.params_at.value;
    const rowsAt = colsAt + 8 * W;
    const rowOfAt = rowsAt + 32 * H;
    const outAt = align16(rowOfAt + 4 * used.length);
    const srcAt = align16(outAt + 12 * W * H);
    const borderSlot = used.length; // a row of the border colour, for taps above or below the source
    const stageAt = align16(srcAt + GAP + (borderSlot + 1) * slotStride + READ_SLACK);
    const end = stageAt + (stageWhole ? height : used.length) * rowBytes;
    if (end > MAX_BYTES) return null;
    const buffer = this.reserve(end);
    const i32 = new Int32Array(buffer);
    // The weights are per (fy, fx): row y's phase row fy * 1024 bytes, column x's offset fx * 32.
    for (let x = 0; x < W; x++) {
      const sx = (samples.x[x] >> INTER_BITS) - 1;
      i32[(colsAt >> 2) + 2 * x] = sx >= width || sx + 4 <= 0 ? -1 : (sx + 3) * 3;
      i32[(colsAt >> 2) + 2 * x + 1] = (samples.x[x] & mask) * 32;
    }
    const slotAddress = (slot: number) => srcAt + slot * slotStride; // the gap before the row: 3 pixels left of it
    for (let y = 0; y < H; y++) {
      const p = (rowsAt >> 2) + 8 * y;
      const sy = (samples.y[y] >> INTER_BITS) - 1;
      i32[p] = -1;
      if (outside(sy)) continue;
      for (let r = 0; r < 4; r++) {
        const row = sy + r;
        i32[p + r] = slotAddress(row >= 0 && row < height ? slotOf[row] : borderSlot);
      }
      i32[p + 4] = (samples.y[y] & mask) * TAB_SIZE * 32;
    }
    for (let c = 0; c < 3; c++) new Float32Array(buffer, lutAt + c * 1024, 256).set(tables[c]);
    const bytes = new Uint8Array(buffer);
    if (stageWhole) {
      bytes.set(src.subarray(0, height * rowBytes), stageAt);
      for (let k = 0; k < used.length; k++) i32[(rowOfAt >> 2) + k] = used[k];
    } else {
      for (let k = 0; k < used.length; k++) {
        bytes.set(src.subarray(used[k] * rowBytes, (used[k] + 1) * rowBytes), stageAt + k * rowBytes);
        i32[(rowOfAt >> 2) + k] = k;
      }
    }
    this.exports.layout(stageAt, rowBytes, rowOfAt, used.length, srcAt, cval[0], cval[1], cval[2]);
    const [lut0, lut1, lut2] = tables;
    this.exports.letterbox(colsAt, W, rowsAt, H, outAt, lut0[cval[0]], lut1[cval[1]], lut2[cval[2]]);
    const result = new Float32Array(buffer, outAt, 3 * W * H); // [3, H, W], a view of the module's memory
    if (!into) return result.slice();
    into.set(result);
    return into;
  }
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

let kernel: SimdLetterbox | undefined;

/**
 * warpCubicU8ToChwJs's result for an axis-aligned map (`samples`: axisAlignedSamples(opts)), in
 * `into` when given (else a new array), or null when the layout would not fit the module's
 * memory (then use the JS path).
 */
export function warpCubicU8ToChwSimd(
  input: WarpInput<Uint8Array>,
  opts: WarpOptions,
  samples: { x: Int32Array; y: Int32Array },
  tables: readonly Float32Array[],
  into?: Float32Array,
): Float32Array | null {
  kernel ??= new SimdLetterbox();
  return kernel.run(input, opts, samples, tables, into);
}
