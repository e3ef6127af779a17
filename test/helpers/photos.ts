/**
 * Phone-like test photos made with sharp: stored sideways with an EXIF orientation, so that only
 * a reader that applies the orientation sees the marker quadrant where it belongs.
 */
import sharp from 'sharp';

export const RED = [220, 30, 30] as const;
export const BLUE = [30, 60, 200] as const;

/**
 * A JPEG stored `storedWidth` x `storedHeight` with EXIF orientation 6 (display rotated 90°
 * clockwise): upright it is storedHeight x storedWidth, red in its top-right quadrant, blue
 * elsewhere (stored: red in the top-left quadrant).
 */
export async function sidewaysPhoto(storedWidth: number, storedHeight: number, quality = 90): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${storedWidth}" height="${storedHeight}">
    <rect width="100%" height="100%" fill="rgb(${BLUE.join(',')})"/>
    <rect width="${storedWidth / 2}" height="${storedHeight / 2}" fill="rgb(${RED.join(',')})"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality }).withMetadata({ orientation: 6 }).toBuffer();
}

/** RGB of the pixel at (x, y) of decoded bytes, without applying any EXIF orientation. */
export async function pixelAt(bytes: Uint8Array, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i]!, data[i + 1]!, data[i + 2]!];
}

export function near(rgb: readonly number[], want: readonly number[], tolerance = 40): boolean {
  return rgb.every((value, i) => Math.abs(value - want[i]!) <= tolerance);
}
