/** Mask checks shared by the stack tests: a target mask file as a bitmap, and IoU against it. */
import sharp from 'sharp';
import { expect } from 'vitest';
import { bitmapIoU, type Bitmap } from '../../sdk/index.js';
import { TEST_BUNDLE_DIR, TRAINED } from './stack.js';

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

/** IoU with the sample's target a trained bundle must reach (the object is found, not a neighbour). */
export const MIN_TARGET_IOU = 0.5;

/**
 * Checks a predicted mask against the sample's target: same size always; IoU >= MIN_TARGET_IOU
 * when the bundle under test is trained (an untrained random-small bundle finds nothing).
 */
export function expectTarget(predicted: Bitmap, target: Bitmap): void {
  expect([predicted.width, predicted.height]).toEqual([target.width, target.height]);
  if (TRAINED) expect(bitmapIoU(predicted, target)).toBeGreaterThanOrEqual(MIN_TARGET_IOU);
  else console.warn(`IoU with the target not checked: ${TEST_BUNDLE_DIR} is not a trained bundle`);
}
