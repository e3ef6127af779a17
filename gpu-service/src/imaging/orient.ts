/**
 * Stored pixels -> packed RGB as displayed: the EXIF orientation (1..8) applied, grey samples
 * replicated to three channels, in one pass over the output. The same pixels libvips gives for
 * sharp's `.rotate()` (flips and quarter turns only, no resampling).
 */

export interface Oriented {
  width: number;
  height: number;
  /** [height, width, 3] */
  rgb: Uint8Array;
}

/**
 * `source` is [height, width, channels] (channels 1 or 3), `out` receives the oriented RGB
 * ([width, height, 3] for orientations 5..8, which swap the sides).
 */
export function orientToRgb(source: Uint8Array, width: number, height: number, channels: 1 | 3, orientation: number, out: Uint8Array): Oriented {
  const swap = orientation >= 5;
  const outWidth = swap ? height : width;
  const outHeight = swap ? width : height;
  if (orientation === 1 && channels === 3) {
    out.set(source.subarray(0, width * height * 3));
    return { width, height, rgb: out };
  }
  // The source pixel of output (0, 0) and the source steps for one output column and one row.
  const [x0, y0, dxCol, dyCol, dxRow, dyRow] = STEPS[orientation](width, height);
  const colStep = (dyCol * width + dxCol) * channels;
  const rowStep = (dyRow * width + dxRow) * channels;
  let rowStart = (y0 * width + x0) * channels;
  let o = 0;
  for (let y = 0; y < outHeight; y++, rowStart += rowStep) {
    let s = rowStart;
    if (channels === 3) {
      for (let x = 0; x < outWidth; x++, s += colStep, o += 3) {
        out[o] = source[s];
        out[o + 1] = source[s + 1];
        out[o + 2] = source[s + 2];
      }
    } else {
      for (let x = 0; x < outWidth; x++, s += colStep, o += 3) {
        const v = source[s];
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
      }
    }
  }
  return { width: outWidth, height: outHeight, rgb: out };
}

type Steps = (w: number, h: number) => [x0: number, y0: number, dxCol: number, dyCol: number, dxRow: number, dyRow: number];

/** Per orientation: where output (0, 0) reads and how the source moves along an output row and down a column. */
const STEPS: Record<number, Steps> = {
  1: () => [0, 0, 1, 0, 0, 1],
  2: (w) => [w - 1, 0, -1, 0, 0, 1], // mirrored left-right
  3: (w, h) => [w - 1, h - 1, -1, 0, 0, -1], // turned 180
  4: (_, h) => [0, h - 1, 1, 0, 0, -1], // mirrored top-bottom
  5: () => [0, 0, 0, 1, 1, 0], // transposed
  6: (_, h) => [0, h - 1, 0, -1, 1, 0], // turned 90 clockwise
  7: (w, h) => [w - 1, h - 1, 0, -1, -1, 0], // transversed
  8: (w) => [w - 1, 0, 0, 1, -1, 0], // turned 90 anticlockwise
};
