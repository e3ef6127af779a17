/**
 * CPU ms per decode of the 16 benchmark scenes (480x360, PNG and JPEG), of a photo as PNG (with
 * libpng's adaptive filters, as cameras' and browsers' PNGs are written) and of the photo as JPEG
 * at 480x360 and 640x480 (the second above JPEG_WASM_MAX_PIXELS: sharp either way). In rounds
 * A B B A in one process: the all-sharp decode (sharp's header call, then its pipeline: what
 * decodeImage did before the PNG fast path), sharp's pipeline alone (decodeImage's JPEG path
 * before the WebAssembly libjpeg-turbo) and decodeImage; for the JPEG scenes also sharp's
 * pipeline under other options (is the cost sharp's settings?); and cv2.imdecode on the same
 * files (the peer's decoder, models/.venv) in between.
 * Run: `node --single-threaded-gc --import tsx bench/decode-ab.ts [calls per round]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuUsage } from 'node:process';
import { decodeImage, readImageHeader } from '../gpu-service/src/imaging/decode.js';
import sharp from 'sharp';
import { goldenPath } from '../test/helpers/golden.js';
import { REPO_ROOT } from '../test/helpers/service-process.js';
import { scene } from './load.js';

const calls = Number(process.argv[2] ?? 400);
const photo = (width: number, height: number) => sharp(goldenPath('preprocess', 'img_a_640x480.jpg')).resize(width, height);
const files = {
  png: await Promise.all(Array.from({ length: 16 }, (_, i) => scene(i + 1))),
  jpeg: await Promise.all(Array.from({ length: 16 }, (_, i) => scene(i + 1, 480, 360, 'jpeg'))),
  'photo png': [new Uint8Array(await photo(480, 360).png({ adaptiveFiltering: true }).toBuffer())],
  'photo jpeg 480x360': [new Uint8Array(await photo(480, 360).jpeg({ quality: 85 }).toBuffer())],
  'photo jpeg 640x480': [new Uint8Array(await photo(640, 480).jpeg({ quality: 85 }).toBuffer())],
};
type Format = keyof typeof files;

/** decodeImage's sharp pipeline (decode.ts), with other sharp options where given. */
const sharpPipeline = (options: sharp.SharpOptions = {}, convert = true) => async (bytes: Uint8Array) => {
  let pipeline = sharp(bytes, { limitInputPixels: 40_000_000, failOn: 'truncated', ignoreIcc: true, ...options });
  if (convert) pipeline = pipeline.rotate().toColourspace('srgb').removeAlpha();
  return pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
};
const decoders: Record<string, (bytes: Uint8Array) => Promise<unknown>> = {
  'all sharp': async (bytes) => decodeImage(bytes, { header: await readImageHeader(bytes) }),
  'sharp pipeline': sharpPipeline(),
  decodeImage: (bytes) => decodeImage(bytes),
  'sharp sequentialRead': sharpPipeline({ sequentialRead: true }),
  'sharp failOn none, unlimited': sharpPipeline({ failOn: 'none', unlimited: true }),
  'sharp raw only (no rotate, colourspace)': sharpPipeline({}, false),
  'sharp cache(false)': async (bytes) => {
    sharp.cache(false);
    try {
      return await sharpPipeline()(bytes);
    } finally {
      sharp.cache(true);
    }
  },
};
const OPTION_ROWS = ['sharp sequentialRead', 'sharp failOn none, unlimited', 'sharp raw only (no rotate, colourspace)', 'sharp cache(false)'];

async function cpuMsPerCall(decode: (bytes: Uint8Array) => Promise<unknown>, images: Uint8Array[]): Promise<number> {
  for (let i = 0; i < 16; i++) await decode(images[i % images.length]);
  const start = cpuUsage();
  for (let i = 0; i < calls; i++) await decode(images[i % images.length]);
  const used = cpuUsage(start);
  return (used.user + used.system) / 1000 / calls;
}

function cv2MsPerCall(format: Format): number {
  const dir = mkdtempSync(join(tmpdir(), 'decode-ab-'));
  files[format].forEach((bytes, i) => writeFileSync(join(dir, `${i}.img`), bytes));
  const script = [
    'import cv2, glob, numpy as np, sys, time',
    'cv2.setNumThreads(1)',
    `data = [np.frombuffer(open(p, "rb").read(), np.uint8) for p in sorted(glob.glob(sys.argv[1] + "/*.img"))]`,
    'for d in data: cv2.imdecode(d, cv2.IMREAD_COLOR)',
    't = time.process_time()',
    `for i in range(${calls}): cv2.imdecode(data[i % len(data)], cv2.IMREAD_COLOR)`,
    `print((time.process_time() - t) * 1000 / ${calls})`,
  ].join('\n');
  try {
    return Number(execFileSync(join(REPO_ROOT, 'models', '.venv', 'bin', 'python'), ['-c', script, dir], { encoding: 'utf8' }).trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// V8 tiers the WebAssembly JPEG decoder up over its first few hundred calls (a running service's
// imaging thread is long past them): warmed up once, before any round.
for (let i = 0; i < 400; i++) await decodeImage(files.jpeg[i % files.jpeg.length]);
const rows: Record<string, number[]> = {};
for (const format of Object.keys(files) as Format[]) {
  const names = ['all sharp', ...(format === 'png' || format === 'photo png' ? [] : ['sharp pipeline']), ...(format === 'jpeg' ? OPTION_ROWS : [])];
  const order = [...names, 'decodeImage', 'decodeImage', ...names.slice().reverse()]; // A B B A
  for (const [round, name] of order.entries()) {
    process.stdout.write(`\r${format} round ${round + 1}/${order.length}   `);
    (rows[`${format} ${name}`] ??= []).push(await cpuMsPerCall(decoders[name], files[format]));
    if (round === names.length) (rows[`${format} cv2.imdecode`] ??= []).push(cv2MsPerCall(format));
  }
}
process.stdout.write('\r');
console.log(`CPU ms per decode, ${calls} calls per round, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [name, values] of Object.entries(rows)) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  console.log(`${name.padEnd(58)} ${mean.toFixed(3)}  (${values.map((v) => v.toFixed(3)).join(', ')})`);
}
