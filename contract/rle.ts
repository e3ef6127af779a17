/**
 * The COCO RLE codec, the one the service (encoding), the SDK (decoding) and the tools share.
 * COCO run-length encoding, as pycocotools' maskApi.c: runs over the mask in column-major order
 * (down each column, then the next column), starting with a run of zeros; compressed to a string
 * of 5-bit groups (+48) with runs from the fourth on stored as differences to the run two before.
 */

export interface CocoRle {
  /** [height, width] */
  size: [number, number];
  counts: string;
}

/**
 * Run lengths of a row-major [height, width] 0/1 mask, read column-major. The mask is scanned row
 * by row (sequential memory) collecting, per column, the rows where the value changes; runs are
 * the gaps between those change points in column-major order.
 */
export function maskToRuns(mask: Uint8Array, width: number, height: number): number[] {
  const changes: number[][] = Array.from({ length: width }, () => []);
  for (let x = 0; x < width; x++) {
    // Column-major order continues from the bottom of the previous column (0 before the first).
    const before = x === 0 ? 0 : mask[(height - 1) * width + x - 1] ? 1 : 0;
    if ((mask[x] ? 1 : 0) !== before) changes[x].push(0);
  }
  for (let y = 1; y < height; y++) {
    const row = y * width;
    const prev = row - width;
    for (let x = 0; x < width; x++) {
      if ((mask[row + x] ? 1 : 0) !== (mask[prev + x] ? 1 : 0)) changes[x].push(y);
    }
  }
  const runs: number[] = [];
  let last = 0;
  for (let x = 0; x < width; x++) {
    for (const y of changes[x]) {
      const position = x * height + y;
      runs.push(position - last);
      last = position;
    }
  }
  runs.push(width * height - last);
  return runs;
}

/** rleToString: runs -> the compressed COCO string. */
export function runsToString(runs: readonly number[]): string {
  let out = '';
  for (let i = 0; i < runs.length; i++) {
    let x = runs[i];
    if (i > 2) x -= runs[i - 2];
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5; // arithmetic shift, like C's long
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  }
  return out;
}

/** rleFrString: the compressed COCO string -> runs. */
export function stringToRuns(counts: string): number[] {
  const runs: number[] = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= counts.length) throw new Error('RLE string ends inside a number');
      const c = counts.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE string has a character out of range at ${p}`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign extension
    }
    if (runs.length > 2) x += runs[runs.length - 2];
    runs.push(x);
  }
  return runs;
}

export function encodeRle(mask: Uint8Array, width: number, height: number): CocoRle {
  return { size: [height, width], counts: runsToString(maskToRuns(mask, width, height)) };
}

/** Decodes a COCO RLE to a row-major [height, width] 0/1 mask; throws if the runs do not fill it. */
export function decodeRle(rle: CocoRle): Uint8Array {
  const [height, width] = rle.size;
  const mask = new Uint8Array(width * height);
  const runs = stringToRuns(rle.counts);
  let index = 0; // column-major position
  let value = 0;
  for (const run of runs) {
    if (run < 0 || index + run > width * height) throw new Error('RLE runs overflow the mask size');
    if (value) {
      for (let i = index; i < index + run; i++) mask[(i % height) * width + Math.floor(i / height)] = 1;
    }
    index += run;
    value ^= 1;
  }
  if (index !== width * height) throw new Error(`RLE runs cover ${index} of ${width * height} pixels`);
  return mask;
}
