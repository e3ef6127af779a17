/** Colour table of referring-shapes v1 and HSV <-> RGB conversions (pure). */
import type { Rng } from './prng.js';
import type { ColourName } from './vocab.js';

export interface ColourSpec {
  hue: number;
  satMin: number;
  satMax: number;
  valMin: number;
}

/** Hue centres and the ranges of the page; hue tolerance is +-10 degrees. */
export const COLOUR_SPECS: Record<ColourName, ColourSpec> = {
  red: { hue: 0, satMin: 0.6, satMax: 1, valMin: 0.6 },
  orange: { hue: 30, satMin: 0.6, satMax: 1, valMin: 0.6 },
  yellow: { hue: 55, satMin: 0.6, satMax: 1, valMin: 0.6 },
  green: { hue: 120, satMin: 0.6, satMax: 1, valMin: 0.6 },
  blue: { hue: 220, satMin: 0.6, satMax: 1, valMin: 0.6 },
  purple: { hue: 280, satMin: 0.6, satMax: 1, valMin: 0.6 },
  pink: { hue: 330, satMin: 0.35, satMax: 0.6, valMin: 0.8 },
};
export const HUE_TOLERANCE = 10;

export type Rgb = [number, number, number];

/** h in degrees, s and v in [0, 1] -> RGB bytes. */
export function hsvToRgb(h: number, s: number, v: number): Rgb {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const [r, g, b] =
    hh < 1 ? [c, x, 0] : hh < 2 ? [x, c, 0] : hh < 3 ? [0, c, x] : hh < 4 ? [0, x, c] : hh < 5 ? [x, 0, c] : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** RGB bytes -> [h degrees in [0, 360), s, v]. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = 60 * (((g - b) / d) % 6);
    else if (max === g) h = 60 * ((b - r) / d + 2);
    else h = 60 * ((r - g) / d + 4);
  }
  if (h < 0) h += 360;
  return [h, max === 0 ? 0 : d / max, max / 255];
}

/** Signed smallest difference between two hues, in degrees. */
export function hueDistance(a: number, b: number): number {
  return Math.abs(((((a - b) % 360) + 540) % 360) - 180);
}

/** A fill colour of the named colour, sampled inside the page's ranges with slack for byte rounding. */
export function sampleColour(rng: Rng, name: ColourName): Rgb {
  const spec = COLOUR_SPECS[name];
  const hue = spec.hue + rng.uniform(-HUE_TOLERANCE + 2, HUE_TOLERANCE - 2);
  const sat = rng.uniform(spec.satMin + 0.03, spec.satMax - 0.03);
  const val = rng.uniform(spec.valMin + 0.03, 0.98);
  return hsvToRgb(hue, sat, val);
}

/** A background colour: saturation <= 0.2 (the page allows 0.25; the slack absorbs rounding). */
export function sampleBackgroundColour(rng: Rng): Rgb {
  return hsvToRgb(rng.uniform(0, 360), rng.uniform(0, 0.2), rng.uniform(0.15, 0.95));
}
