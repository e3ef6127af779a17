/** Backgrounds: solid, linear gradient or smooth value noise between two low-saturation colours (pure). */
import { sampleBackgroundColour, type Rgb } from './colour.js';
import type { Rng } from './prng.js';

export type BackgroundSpec =
  | { kind: 'solid'; colour: Rgb }
  | { kind: 'gradient'; from: Rgb; to: Rgb; angle: number }
  | { kind: 'noise'; from: Rgb; to: Rgb; grid: number; values: number[] };

export function sampleBackground(rng: Rng): BackgroundSpec {
  const kind = rng.pick(['solid', 'gradient', 'noise'] as const);
  const from = sampleBackgroundColour(rng);
  if (kind === 'solid') return { kind, colour: from };
  const to = sampleBackgroundColour(rng);
  if (kind === 'gradient') return { kind, from, to, angle: rng.uniform(0, 2 * Math.PI) };
  const grid = rng.int(3, 7);
  const values = Array.from({ length: (grid + 1) * (grid + 1) }, () => rng.next());
  return { kind, from, to, grid, values };
}

const smooth = (t: number): number => t * t * (3 - 2 * t);

/** [height * width * 3] RGB. A blend of two colours of saturation <= s keeps saturation <= s. */
export function renderBackground(spec: BackgroundSpec, width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  const blendAt = (x: number, y: number): number => {
    if (spec.kind === 'gradient') {
      const dx = Math.cos(spec.angle);
      const dy = Math.sin(spec.angle);
      const span = Math.abs(dx) * width + Math.abs(dy) * height;
      const start = Math.min(0, dx * width) + Math.min(0, dy * height);
      return (dx * x + dy * y - start) / span;
    }
    if (spec.kind === 'noise') {
      const gx = (x / width) * spec.grid;
      const gy = (y / height) * spec.grid;
      const ix = Math.min(spec.grid - 1, Math.floor(gx));
      const iy = Math.min(spec.grid - 1, Math.floor(gy));
      const tx = smooth(gx - ix);
      const ty = smooth(gy - iy);
      const v = (i: number, j: number): number => spec.values[j * (spec.grid + 1) + i];
      const top = v(ix, iy) * (1 - tx) + v(ix + 1, iy) * tx;
      const bottom = v(ix, iy + 1) * (1 - tx) + v(ix + 1, iy + 1) * tx;
      return top * (1 - ty) + bottom * ty;
    }
    return 0;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      if (spec.kind === 'solid') {
        rgb[o] = spec.colour[0];
        rgb[o + 1] = spec.colour[1];
        rgb[o + 2] = spec.colour[2];
        continue;
      }
      const t = Math.min(1, Math.max(0, blendAt(x + 0.5, y + 0.5)));
      for (let c = 0; c < 3; c++) rgb[o + c] = Math.round(spec.from[c] * (1 - t) + spec.to[c] * t);
    }
  }
  return rgb;
}
