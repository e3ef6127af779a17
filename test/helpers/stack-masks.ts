/** Mask checks shared by the stack tests: a target mask file as a bitmap, and IoU against it. */
import sharp from 'sharp';
import { bitmapIoU, type Bitmap } from '../../sdk/index.js';

/** A single-channel (or any) PNG mask file -> bitmap, inside = first channel >= 128. */
export async function readMaskFile(path: string | Buffer): Promise<Bitmap> {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const bitmap = new Uint8Array(info.width * info.height);
  for (let i = 0; i < bitmap.length; i++) bitmap[i] = data[i * info.channels]! >= 128 ? 1 : 0;
  return { width: info.width, height: info.height, data: bitmap };
}

export function area(bitmap: Bitmap): number {
  let total = 0;
  for (const value of bitmap.data) total += value;
  return total;
}

export { bitmapIoU };
