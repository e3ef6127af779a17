// How the playground draws a mask over the photo so it shows on any object: a fill in the colour
// farthest from the object's own mean colour (a blue fill would vanish on a blue object), and a
// two-tone outline, dark outside and white inside it, that stands out on light and dark alike.
// Pure functions over RGBA arrays (a canvas ImageData's layout); only mask pixels get alpha, so the
// overlay's alpha is the mask.

/** Fill candidates, strong and far apart; the one farthest from the object's colour is used. */
export const FILL_COLOURS = [
  [255, 0, 200], // magenta
  [0, 200, 255], // cyan
  [20, 60, 255], // blue
  [255, 120, 0], // orange
  [0, 200, 80], // green
  [255, 235, 0], // yellow
];
export const FILL_ALPHA = 165;
export const OUTLINE_DARK = [17, 17, 17, 255];
export const OUTLINE_LIGHT = [255, 255, 255, 255];

/** Mean RGB of `photo` (RGBA, same size as the mask) over the mask's pixels; null when empty. */
export function meanColour(mask, photo) {
  const sum = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    sum[0] += photo[i * 4];
    sum[1] += photo[i * 4 + 1];
    sum[2] += photo[i * 4 + 2];
    count++;
  }
  return count === 0 ? null : sum.map((value) => value / count);
}

const distance = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/** The fill colour (RGB) that contrasts most with `colour`. */
export function contrastingFill(colour) {
  let best = FILL_COLOURS[0];
  for (const candidate of FILL_COLOURS) if (distance(candidate, colour) > distance(best, colour)) best = candidate;
  return best;
}

/**
 * Chessboard distance of every mask pixel to the nearest pixel outside the mask (the image border
 * counts as outside): 1 on the mask's edge, 0 outside. Two passes (a chamfer transform).
 */
export function distanceInside({ width, height, data }) {
  const d = new Int32Array(width * height);
  const big = width + height;
  const at = (x, y) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : d[y * width + x]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!data[y * width + x]) continue;
      d[y * width + x] = Math.min(big, at(x - 1, y - 1), at(x, y - 1), at(x + 1, y - 1), at(x - 1, y)) + 1;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (!data[i]) continue;
      d[i] = Math.min(d[i], Math.min(at(x + 1, y + 1), at(x, y + 1), at(x - 1, y + 1), at(x + 1, y)) + 1);
    }
  }
  return d;
}

/** Outline thickness in mask pixels: about 2 screen pixels at the page's display size. */
export function outlineWidth(width, height) {
  return Math.max(1, Math.round(Math.max(width, height) / 320));
}

/**
 * The overlay for `mask` ({ width, height, data: 0/1 }) over `photo` (RGBA of the same size):
 * RGBA, transparent outside the mask; returns the fill colour it chose too.
 */
export function maskOverlay(mask, photo) {
  const rgba = new Uint8ClampedArray(mask.width * mask.height * 4);
  const mean = meanColour(mask, photo);
  if (!mean) return { rgba, fill: null };
  const fill = [...contrastingFill(mean), FILL_ALPHA];
  const ring = outlineWidth(mask.width, mask.height);
  const depth = distanceInside(mask);
  for (let i = 0; i < depth.length; i++) {
    if (!depth[i]) continue;
    rgba.set(depth[i] <= ring ? OUTLINE_DARK : depth[i] <= 2 * ring ? OUTLINE_LIGHT : fill, i * 4);
  }
  return { rgba, fill: fill.slice(0, 3) };
}
