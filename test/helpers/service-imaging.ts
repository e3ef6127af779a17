/**
 * The service's pre- and post-processing warps on a list of inputs, for tests in other languages
 * (test/python/test_letterbox_parity.py). A letterbox job names an encoded image (decoded as the
 * service decodes uploads) or raw packed RGB, and gets back the letterboxed RGB bytes
 * ([S, S, 3] uint8, `<out>.rgb`) and the network input ([3, S, S] float32 little-endian,
 * `<out>.f32`). An inverse job names a [S, S] float32 probability map and gets it back on the
 * original image ([height, width] float32, `<out>.back`), as the service maps masks.
 *
 *   npx tsx test/helpers/service-imaging.ts jobs.json
 *   jobs.json: { "mean": [...], "std": [...], "pad_rgb": [...], "jobs": [
 *     { "image": "a.png", "size": 160, "out": "a" } | { "raw": "b.bin", "width": 7, "height": 5, "size": 160, "out": "b" }
 *     | { "prob": "c.f32", "width": 7, "height": 5, "size": 160, "out": "c" } ] }
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  decodeImage,
  inverseLetterboxMatrix,
  letterboxRgb,
  letterboxToNetworkInput,
  letterboxTransform,
  warpAffineCubicF32,
  type DecodedRgb,
} from '../../gpu-service/src/imaging/index.js';

interface Job {
  image?: string;
  raw?: string;
  prob?: string;
  width?: number;
  height?: number;
  size: number;
  out: string;
}

interface Jobs {
  mean: number[];
  std: number[];
  pad_rgb: number[];
  jobs: Job[];
}

function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

async function decoded(job: Job, base: string): Promise<DecodedRgb> {
  if (job.image) return decodeImage(readFileSync(resolve(base, job.image)));
  const { width = 0, height = 0 } = job;
  const rgb = new Uint8Array(readFileSync(resolve(base, job.raw ?? '')));
  if (rgb.length !== width * height * 3) throw new Error(`${job.raw}: ${rgb.length} bytes, not ${width}x${height}x3`);
  return { rgb, width, height, originalWidth: width, originalHeight: height, format: 'png' };
}

function inverseLetterbox(job: Job, base: string): Float32Array {
  const { width = 0, height = 0, size } = job;
  const bytes = readFileSync(resolve(base, job.prob ?? ''));
  const prob = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)); // [S, S]
  if (prob.length !== size * size) throw new Error(`${job.prob}: ${prob.length} values, not ${size}x${size}`);
  const transform = letterboxTransform(width, height, size);
  return warpAffineCubicF32(
    { src: prob, width: size, height: size, channels: 1 },
    { matrix: inverseLetterboxMatrix(transform), dstWidth: width, dstHeight: height, border: [0] },
  ); // [height, width]
}

const listPath = resolve(process.argv[2] ?? '');
const base = dirname(listPath);
const spec = JSON.parse(readFileSync(listPath, 'utf8')) as Jobs;
for (const job of spec.jobs) {
  if (job.prob) {
    writeFileSync(resolve(base, `${job.out}.back`), bytesOf(inverseLetterbox(job, base)));
    continue;
  }
  const image = await decoded(job, base);
  const transform = letterboxTransform(image.originalWidth, image.originalHeight, job.size);
  const input = { size: job.size, mean: spec.mean, std: spec.std, pad_rgb: spec.pad_rgb };
  writeFileSync(resolve(base, `${job.out}.rgb`), letterboxRgb(image, transform, spec.pad_rgb)); // [S, S, 3]
  writeFileSync(resolve(base, `${job.out}.f32`), bytesOf(letterboxToNetworkInput(image, transform, input))); // [3, S, S]
}
