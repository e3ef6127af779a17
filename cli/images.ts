/** PNG outputs of the CLI: the bare mask, and the mask drawn over the photo (sharp). */
import sharp from 'sharp';
import type { Bitmap } from '../sdk/index.js';

const FILL: [number, number, number] = [10, 108, 255];
const FILL_ALPHA = 0.45;
const EDGE: [number, number, number] = [255, 214, 0];

/** Single-channel PNG, 255 inside the mask, 0 outside (the API's PNG mask format). */
export async function writeMaskPng(bitmap: Bitmap, path: string): Promise<void> {
  const grey = Buffer.alloc(bitmap.width * bitmap.height);
  for (let i = 0; i < grey.length; i++) grey[i] = bitmap.data[i] ? 255 : 0;
  await sharp(grey, { raw: { width: bitmap.width, height: bitmap.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(path);
}

function isEdge(bitmap: Bitmap, x: number, y: number): boolean {
  const { width, height, data } = bitmap;
  const i = y * width + x;
  return x === 0 || y === 0 || x === width - 1 || y === height - 1 || !data[i - 1] || !data[i + 1] || !data[i - width] || !data[i + width];
}

/** The photo (EXIF orientation applied, as the service sees it) with the mask blended in and outlined. */
export async function writeOverlayPng(image: Uint8Array, bitmap: Bitmap, path: string): Promise<void> {
  const { data: rgb, info } = await sharp(image).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.width !== bitmap.width || info.height !== bitmap.height) {
    throw new Error(`mask is ${bitmap.width}x${bitmap.height} but the image is ${info.width}x${info.height}`);
  }
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = y * info.width + x;
      if (!bitmap.data[i]) continue;
      const edge = isEdge(bitmap, x, y);
      for (let c = 0; c < 3; c++) {
        const at = i * info.channels + c;
        rgb[at] = edge ? EDGE[c]! : Math.round(rgb[at]! * (1 - FILL_ALPHA) + FILL[c]! * FILL_ALPHA);
      }
    }
  }
  await sharp(rgb, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toFile(path);
}
