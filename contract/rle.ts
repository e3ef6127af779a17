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

/** [x, y, w, h] */
export type MaskBox = readonly [number, number, number, number];

/**
 * The bounding box [x, y, w, h] of the set (non-zero) pixels of a row-major [height, width]
 * mask; zeros when none is set. The first and last set pixels (found four bytes at a time) give
 * the rows; the rows between are read from each end only as far as the box's sides so far.
 */
export function maskBox(mask: Uint8Array, width: number, height: number): MaskBox {
  const n = Math.min(mask.length, width * height);
  const head = Math.min(n, (4 - (mask.byteOffset & 3)) & 3); // bytes before the first aligned word
  const words = n - head >= 4 ? new Uint32Array(mask.buffer, mask.byteOffset + head, (n - head) >> 2) : new Uint32Array(0);
  const tail = head + words.length * 4; // bytes from here on are after the last word
  let first = 0;
  while (first < head && !mask[first]) first++;
  if (first === head) {
    let k = 0;
    while (k < words.length && words[k] === 0) k++;
    first = head + k * 4;
    while (first < n && !mask[first]) first++;
  }
  if (first >= n) return [0, 0, 0, 0];
  let last = n - 1;
  while (last >= tail && !mask[last]) last--;
  if (last < tail) {
    let k = words.length - 1;
    while (k >= 0 && words[k] === 0) k--;
    last = head + k * 4 + 3;
    while (!mask[last]) last--;
  }
  const minY = Math.floor(first / width);
  const maxY = Math.floor(last / width);
  let minX = first - minY * width;
  let maxX = last - maxY * width;
  if (minX > maxX) [minX, maxX] = [maxX, minX];
  for (let y = minY; y <= maxY; y++) {
    const row = y * width;
    for (let x = 0; x < minX; x++) {
      if (mask[row + x]) {
        minX = x;
        break;
      }
    }
    for (let x = width - 1; x > maxX; x--) {
      if (mask[row + x]) {
        maxX = x;
        break;
      }
    }
  }
  return [minX, minY, maxX - minX + 1, maxY - minY + 1];
}

/**
 * Run lengths of a row-major [height, width] 0/1 mask, read column-major: only `box` is read,
 * down each of its columns. `box` must hold every set pixel (maskBox's by default; a PhraseMask's
 * bbox). Runs are the gaps between the positions where the value changes, in column-major order,
 * from a run of 0.
 */
export function maskToRuns(mask: Uint8Array, width: number, height: number, box: MaskBox = maskBox(mask, width, height)): number[] {
  const [x0, y0, w, h] = box;
  const runs: number[] = [];
  let last = 0; // column-major position of the last change
  let value = 0;
  const y1 = y0 + h;
  for (let x = x0; x < x0 + w; x++) {
    const column = x * height;
    // Ones down to the bottom of the previous column end at this column's top when the box starts lower.
    if (value && y0 > 0) {
      runs.push(column - last);
      last = column;
      value = 0;
    }
    for (let y = y0, p = y0 * width + x; y < y1; y++, p += width) {
      if ((mask[p] ? 1 : 0) === value) continue;
      runs.push(column + y - last);
      last = column + y;
      value ^= 1;
    }
    if (value && y1 < height) {
      runs.push(column + y1 - last);
      last = column + y1;
      value = 0;
    }
  }
  if (value && x0 + w < width) {
    runs.push((x0 + w) * height - last);
    last = (x0 + w) * height;
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

/** `box`: as maskToRuns. */
export function encodeRle(mask: Uint8Array, width: number, height: number, box?: MaskBox): CocoRle {
  return { size: [height, width], counts: runsToString(maskToRuns(mask, width, height, box)) };
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
