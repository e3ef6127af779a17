/** Evaluation overlays: the image with ground truth (green), prediction (red), both (yellow). */
import sharp from 'sharp';

export async function renderOverlay(
  imageBytes: Uint8Array,
  predicted: Uint8Array,
  truth: Uint8Array,
  width: number,
  height: number,
): Promise<Buffer> {
  const { data } = await sharp(imageBytes).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const out = new Uint8Array(width * height * 3); // [H, W, 3]
  for (let i = 0; i < width * height; i++) {
    const p = predicted[i] !== 0;
    const t = truth[i] !== 0;
    const tint = p && t ? [255, 230, 0] : p ? [255, 40, 40] : t ? [40, 220, 40] : null;
    for (let c = 0; c < 3; c++) {
      const base = data[i * 3 + c] * (tint ? 0.45 : 0.8);
      out[i * 3 + c] = Math.round(tint ? base + tint[c] * 0.55 : base);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
