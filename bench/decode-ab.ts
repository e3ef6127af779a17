/**
 * CPU ms per decode of the 16 benchmark scenes (480x360, PNG and JPEG; and a photo as PNG with
 * libpng's adaptive filters, as cameras' and browsers' PNGs are written): the all-sharp decode
 * (sharp's header call, then its pipeline: what decodeImage did before the PNG fast path) against
 * decodeImage, in rounds A B B A in one process, and cv2.imdecode on the same files (the peer's
 * decoder, models/.venv) in between. Run: `npx tsx bench/decode-ab.ts [calls per round]`.
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
const photo = sharp(goldenPath('preprocess', 'img_a_640x480.jpg')).resize(480, 360);
const files = {
  png: await Promise.all(Array.from({ length: 16 }, (_, i) => scene(i + 1))),
  jpeg: await Promise.all(Array.from({ length: 16 }, (_, i) => scene(i + 1, 480, 360, 'jpeg'))),
  'photo png': [new Uint8Array(await photo.png({ adaptiveFiltering: true }).toBuffer())],
};
type Format = keyof typeof files;

const decoders = {
  'all sharp': async (bytes: Uint8Array) => decodeImage(bytes, { header: await readImageHeader(bytes) }),
  decodeImage: (bytes: Uint8Array) => decodeImage(bytes),
};

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

const rows: Record<string, number[]> = {};
const order = ['all sharp', 'decodeImage', 'decodeImage', 'all sharp'] as const;
for (const format of Object.keys(files) as Format[]) {
  for (const [round, name] of order.entries()) {
    process.stdout.write(`\r${format} round ${round + 1}/${order.length}   `);
    (rows[`${format} ${name}`] ??= []).push(await cpuMsPerCall(decoders[name], files[format]));
    if (round === 1) (rows[`${format} cv2.imdecode`] ??= []).push(cv2MsPerCall(format));
  }
}
process.stdout.write('\r');
console.log(`CPU ms per decode, ${calls} calls per round, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [name, values] of Object.entries(rows)) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  console.log(`${name.padEnd(22)} ${mean.toFixed(3)}  (${values.map((v) => v.toFixed(3)).join(', ')})`);
}
