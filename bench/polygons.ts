// Polygon encoding cost (gpu-service/src/masks/polygon.ts: exact trace + simplification) on masks
// a phone photo gives: median of N runs per case, with the points and bytes of the answer.
//   npm run bench:polygons [-- --runs 7]
import { parseArgs } from 'node:util';
import { maskToPolygons } from '../gpu-service/src/masks/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Math.max(1, Number(values.runs));

function draw(width: number, height: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const mask = new Uint8Array(width * height); // [height, width]
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = inside(x + 0.5, y + 0.5) ? 1 : 0;
  return mask;
}

let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const cases: Array<[string, number, number, Uint8Array]> = [
  ['12 MP, one large ellipse with a hole', 4032, 3024, draw(4032, 3024, (x, y) => (x - 1800) ** 2 / 1500 ** 2 + (y - 1500) ** 2 / 1200 ** 2 < 1 && (x - 1800) ** 2 + (y - 1500) ** 2 > 300 ** 2)],
  ['12 MP, a small object (200 x 150 px)', 4032, 3024, draw(4032, 3024, (x, y) => (x - 900) ** 2 / 100 ** 2 + (y - 700) ** 2 / 75 ** 2 < 1)],
  ['1 MP, a ragged mask (5 % of pixels flipped)', 1000, 1000, draw(1000, 1000, (x, y) => ((x - 500) ** 2 + (y - 500) ** 2 < 400 ** 2) !== random() < 0.05)],
  ['160 x 200, a sample-sized disc', 160, 200, draw(160, 200, (x, y) => (x - 70) ** 2 + (y - 160) ** 2 < 27 ** 2)],
];

const started = performance.now();
for (const [index, [name, width, height, mask]] of cases.entries()) {
  const times: number[] = [];
  let polygons = maskToPolygons(mask, width, height);
  for (let run = 0; run < runs; run++) {
    const t = performance.now();
    polygons = maskToPolygons(mask, width, height);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const points = polygons.flat().reduce((sum, ring) => sum + ring.length, 0);
  const elapsed = (performance.now() - started) / 1000;
  const eta = (elapsed / (index + 1)) * (cases.length - index - 1);
  console.log(`${name}: median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms over ${runs} runs, ${polygons.length} polygons, ${points} points, ${JSON.stringify(polygons).length} bytes  [${index + 1}/${cases.length}, ETA ${eta.toFixed(0)} s]`);
}
