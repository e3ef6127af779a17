/** Scene sampling (seeded) and rendering to pixels plus the facts the referring rules need. */
import { renderBackground, sampleBackground, type BackgroundSpec } from './background.js';
import { sampleColour, type Rgb } from './colour.js';
import type { Rng } from './prng.js';
import { labelMap, paintObjects, rasteriseShape, shapeBounds, type ShapeGeometry } from './raster.js';
import { COLOURS, SHAPES, type ColourName, type ShapeName } from './vocab.js';

export interface SceneObject {
  geometry: ShapeGeometry;
  colour: ColourName;
  rgb: Rgb;
}

export interface Scene {
  width: number;
  height: number;
  background: BackgroundSpec;
  objects: SceneObject[];
}

/** What the referring rules look at, per object. */
export interface ObjectFacts {
  index: number;
  shape: ShapeName;
  colour: ColourName;
  /** Visible pixels. */
  area: number;
  /** Centre of the object's bounding box, in pixels. */
  cx: number;
  cy: number;
}

export interface RenderedScene {
  scene: Scene;
  /** [height * width * 3] RGB. */
  rgb: Uint8Array;
  /** [height * width] topmost object index, -1 background. */
  labels: Int16Array;
  facts: ObjectFacts[];
}

export const SIZE_RANGE: [number, number] = [0.08, 0.35];
export const MAX_HIDDEN = 0.3;
export const IMAGE_SIDE: [number, number] = [160, 640];

function sampleSubset<T>(rng: Rng, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length > 0) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]);
  return out;
}

/** Image size: the longer side uniform in the range, aspect ratio log-uniform up to 2:1. */
function sampleSize(rng: Rng): [number, number] {
  const long = rng.int(IMAGE_SIDE[0], IMAGE_SIDE[1]);
  const short = Math.max(IMAGE_SIDE[0], Math.round(long / Math.exp(rng.uniform(0, Math.log(2)))));
  return rng.chance(0.5) ? [long, short] : [short, long];
}

function hiddenFractions(coverages: Uint8Array[], labels: Int16Array): number[] {
  return coverages.map((cov, index) => {
    let total = 0;
    let visible = 0;
    for (let i = 0; i < cov.length; i++) {
      if (!cov[i]) continue;
      total++;
      if (labels[i] === index) visible++;
    }
    return total === 0 ? 1 : 1 - visible / total;
  });
}

/** A scene of 2..6 objects, fully inside the image, none more than 30 % hidden. */
export function sampleScene(rng: Rng): Scene {
  const [width, height] = sampleSize(rng);
  const short = Math.min(width, height);
  const palette = sampleSubset(rng, COLOURS, rng.int(1, 4));
  const shapes = sampleSubset(rng, SHAPES, rng.int(1, 3));
  const wanted = rng.int(2, 6);
  const objects: SceneObject[] = [];
  const coverages: Uint8Array[] = [];
  for (let attempt = 0; objects.length < wanted && attempt < 200; attempt++) {
    const shape = rng.pick(shapes);
    const size = rng.uniform(SIZE_RANGE[0], SIZE_RANGE[1]) * short;
    const rotation = shape === 'circle' ? 0 : rng.uniform(0, 2 * Math.PI);
    const probe: ShapeGeometry = { shape, cx: 0, cy: 0, size, rotation };
    const [bx0, by0, bx1, by1] = shapeBounds(probe);
    const cx = rng.uniform(-bx0 + 1, width - bx1 - 1);
    const cy = rng.uniform(-by0 + 1, height - by1 - 1);
    const geometry: ShapeGeometry = { ...probe, cx, cy };
    const coverage = rasteriseShape(geometry, width, height);
    const trial = [...coverages, coverage];
    if (Math.max(...hiddenFractions(trial, labelMap(trial, width, height))) > MAX_HIDDEN) continue;
    const colour = rng.pick(palette);
    objects.push({ geometry, colour, rgb: sampleColour(rng, colour) });
    coverages.push(coverage);
  }
  if (objects.length < 2) return sampleScene(rng);
  return { width, height, background: sampleBackground(rng), objects };
}

/** Pixels and facts of a scene (pure). */
export function renderScene(scene: Scene): RenderedScene {
  const { width, height } = scene;
  const coverages = scene.objects.map((o) => rasteriseShape(o.geometry, width, height));
  const labels = labelMap(coverages, width, height);
  const rgb = paintObjects(
    renderBackground(scene.background, width, height),
    labels,
    scene.objects.map((o) => o.rgb),
  );
  const areas = new Array<number>(scene.objects.length).fill(0);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) areas[labels[i]]++;
  const facts = scene.objects.map((o, index) => ({
    index,
    shape: o.geometry.shape,
    colour: o.colour,
    area: areas[index],
    cx: o.geometry.cx,
    cy: o.geometry.cy,
  }));
  return { scene, rgb, labels, facts };
}
