/** A mask as a single-channel PNG: 255 inside, 0 outside. */
import sharp from 'sharp';

export async function maskToPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  const grey = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) grey[i] = mask[i] ? 255 : 0;
  return sharp(grey, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
}
