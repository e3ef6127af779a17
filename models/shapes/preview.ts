/** A picture for people: a grid of scenes, the target outlined, its sentences underneath. */
import sharp from 'sharp';
import type { GeneratedTarget } from './dataset.js';

const TILE = 256;
const TEXT_H = 60;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** RGB with the boundary of the target (of every member; none for no target) painted magenta (2 px). */
function outlined(t: GeneratedTarget): Uint8Array {
  const { width, height } = t.rendered.scene;
  const { labels } = t.rendered;
  const rgb = t.rendered.rgb.slice();
  const inside = (x: number, y: number): boolean =>
    x >= 0 && y >= 0 && x < width && y < height && t.members.includes(labels[y * width + x]);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside(x, y)) continue;
      let edge = false;
      for (let dy = -2; dy <= 2 && !edge; dy++) for (let dx = -2; dx <= 2 && !edge; dx++) edge = !inside(x + dx, y + dy);
      if (edge) rgb.set([255, 0, 255], 3 * (y * width + x));
    }
  }
  return rgb;
}

async function tile(t: GeneratedTarget): Promise<Buffer> {
  const { width, height } = t.rendered.scene;
  const picture = await sharp(outlined(t), { raw: { width, height, channels: 3 } })
    .resize(TILE, TILE, { fit: 'contain', background: { r: 255, g: 255, b: 255 } })
    .png()
    .toBuffer();
  const lines = t.expressions
    .map((e, i) => `<text x="4" y="${16 + 18 * i}" font-family="DejaVu Sans" font-size="12">${escapeXml(`${e.sentence} [${e.kind}]`)}</text>`)
    .join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${TILE}" height="${TEXT_H}">${lines}</svg>`);
  return sharp({ create: { width: TILE, height: TILE + TEXT_H, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([
      { input: picture, top: 0, left: 0 },
      { input: svg, top: TILE, left: 0 },
    ])
    .png()
    .toBuffer();
}

/** Writes a grid PNG of the given targets (cols per row). */
export async function writePreview(file: string, targets: GeneratedTarget[], cols = 4): Promise<void> {
  const tiles = await Promise.all(targets.map(tile));
  const rows = Math.ceil(tiles.length / cols);
  await sharp({
    create: { width: cols * (TILE + 8), height: rows * (TILE + TEXT_H + 8), channels: 3, background: { r: 230, g: 230, b: 230 } },
  })
    .composite(tiles.map((input, i) => ({ input, left: (i % cols) * (TILE + 8), top: Math.floor(i / cols) * (TILE + TEXT_H + 8) })))
    .png()
    .toFile(file);
}
