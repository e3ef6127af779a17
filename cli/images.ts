/** PNG outputs of the CLI: the bare mask, and the mask drawn over the photo (sharp). */
import sharp from 'sharp';
import { bitmapToRgba, type Bitmap } from '../sdk/index.js';

/** Mask colours: a translucent blue fill, an opaque yellow outline (as the playground draws them). */
const FILL: [number, number, number, number] = [10, 108, 255, 115];
const EDGE: [number, number, number, number] = [255, 214, 0, 255];

/** Single-channel PNG, 255 inside the mask, 0 outside (the API's PNG mask format). */
export async function writeMaskPng(bitmap: Bitmap, path: string): Promise<void> {
  const grey = Buffer.alloc(bitmap.width * bitmap.height);
  for (let i = 0; i < grey.length; i++) grey[i] = bitmap.data[i] ? 255 : 0;
  await sharp(grey, { raw: { width: bitmap.width, height: bitmap.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(path);
}

/** The photo (EXIF orientation applied, as the service sees it) with the mask blended in and outlined. */
export async function writeOverlayPng(image: Uint8Array, bitmap: Bitmap, path: string): Promise<void> {
  const { data: rgb, info } = await sharp(image).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.width !== bitmap.width || info.height !== bitmap.height) {
    throw new Error(`mask is ${bitmap.width}x${bitmap.height} but the image is ${info.width}x${info.height}`);
  }
  const paint = bitmapToRgba(bitmap, FILL, EDGE); // [H * W * 4]
  for (let i = 0; i < info.width * info.height; i++) {
    const alpha = paint[i * 4 + 3]! / 255;
    if (alpha === 0) continue;
    for (let c = 0; c < 3; c++) {
      const at = i * info.channels + c;
      rgb[at] = Math.round(rgb[at]! * (1 - alpha) + paint[i * 4 + c]! * alpha);
    }
  }
  await sharp(rgb, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toFile(path);
}
