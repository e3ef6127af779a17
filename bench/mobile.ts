/**
 * `npm run bench:mobile`: a phone on a 10 Mbit/s up / 40 Mbit/s down link with 60 ms of added
 * RTT (test/helpers/throttle-proxy.ts, loopback only) in front of the whole local stack (wrangler
 * dev, the GPU service on CPU, s3rver), asking about a 12 MP JPEG (a sample scene scaled up,
 * camera-like noise, stored sideways with EXIF orientation 6). Time to mask at the client and
 * bytes sent through the link, median of N runs, for:
 *   plain     the photo uploaded as it is (multipart, as curl or an app without the SDK would)
 *   sdk       the SDK: shrunk in the client (Node: sharp) to 2 x the input size + original_size
 *   image_id  a second phrase about the same photo by the first answer's image_id
 * Every run uses a photo of its own (a different marker patch), so nothing is a cache hit.
 * Bars: sdk >= 5x faster than plain; image_id < 200 ms; sdk bytes <= 300 KB.
 *
 *   npm run bench:mobile [-- --runs 10]      (inside netns-run: it listens on ports 18520-18524)
 */
import { cpus, loadavg } from 'node:os';
import sharp from 'sharp';
import { createClient, type SegmentResult } from '../sdk/index.js';
import { samples } from '../test/helpers/stack.js';
import { startMobileStack } from '../test/helpers/mobile-stack.js';
import { startThrottleProxy, type ThrottleProxy } from '../test/helpers/throttle-proxy.js';
import { median } from './stats.js';

const LINK = { upMbit: 10, downMbit: 40, rttMs: 60 };
const BARS = { speedup: 5, imageIdMs: 200, sdkBytes: 300 * 1024 };
const runsIndex = process.argv.indexOf('--runs');
const RUNS = runsIndex >= 0 ? Number(process.argv[runsIndex + 1]) : 10;
const PORT = 18520;
/** Stored (sideways) size of the photo: 4032 x 3024 = 12.2 MP; upright 3024 x 4032. */
const STORED = { width: 4032, height: 3024 };

/** The upright scene at 3024 x 4032 with camera-like noise, as raw RGB (made once). */
async function uprightPixels(scenePath: string): Promise<Buffer> {
  const { width, height } = { width: STORED.height, height: STORED.width };
  const raw = await sharp(scenePath).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha().raw().toBuffer();
  let seed = 12345;
  for (let i = 0; i < raw.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff; // LCG: sensor-like noise (+-12), so the JPEG has a phone photo's size (3-5 MB)
    raw[i] = Math.max(0, Math.min(255, raw[i]! + ((seed >> 16) % 25) - 12));
  }
  return raw;
}

/** Run `index`'s photo: a marker patch of its own in a corner, stored sideways with EXIF orientation 6. */
async function photo(upright: Buffer, index: number): Promise<Buffer> {
  const pixels = Buffer.from(upright);
  const width = STORED.height;
  for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) pixels.fill(index * 23 % 256, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return sharp(pixels, { raw: { width, height: STORED.width, channels: 3 } })
    .rotate(-90) // stored sideways: a viewer applying orientation 6 turns it upright again
    .jpeg({ quality: 92 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

async function plainUpload(origin: string, apiKey: string, image: Buffer, phrase: string): Promise<SegmentResult> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'photo.jpg');
  form.append('text', phrase);
  form.append('format', 'rle');
  const response = await fetch(`${origin}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
  if (!response.ok) throw new Error(`plain upload answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as SegmentResult;
}

interface Sample {
  ms: number;
  up: number;
  down: number;
  /** The GPU service's own total_ms (decode to masks). */
  serviceMs: number;
}

async function measure(link: ThrottleProxy, action: () => Promise<SegmentResult>): Promise<Sample & { result: SegmentResult }> {
  const before = { up: link.bytes.up, down: link.bytes.down };
  const started = performance.now();
  const result = await action();
  const ms = performance.now() - started;
  return { ms, up: link.bytes.up - before.up, down: link.bytes.down - before.down, serviceMs: result.timing.total_ms, result };
}

function row(name: string, values: Sample[]): string {
  const ms = median(values.map((v) => v.ms));
  const up = median(values.map((v) => v.up));
  const down = median(values.map((v) => v.down));
  const service = median(values.map((v) => v.serviceMs));
  return `| ${name.padEnd(26)} | ${ms.toFixed(0).padStart(8)} | ${service.toFixed(0).padStart(10)} | ${(up / 1024).toFixed(1).padStart(10)} | ${(down / 1024).toFixed(1).padStart(10)} |`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const [scene] = samples();
  console.log(`bench:mobile: ${RUNS} runs; link ${LINK.upMbit} Mbit/s up, ${LINK.downMbit} Mbit/s down, +${LINK.rttMs} ms RTT; starting the stack...`);
  const [stack, upright] = await Promise.all([startMobileStack(PORT), uprightPixels(scene!.image)]);
  const link = await startThrottleProxy({ targetPort: Number(new URL(stack.edge.origin).port), ...LINK });
  const origin = `http://127.0.0.1:${link.port}`;
  const results: Record<'plain' | 'sdk' | 'imageId', Sample[]> = { plain: [], sdk: [], imageId: [] };
  let photoBytes = 0;
  let shrunkSize = '';
  try {
    console.log(`stack up in ${((performance.now() - started) / 1000).toFixed(0)} s (model ${stack.model}, input ${stack.inputSize}); warming up...`);
    const warm = await photo(upright, 2 * RUNS + 1); // indexes no run uses
    await createClient({ endpoint: origin, apiKey: stack.apiKey }).segment({ image: warm, text: scene!.phrase, format: 'rle' });
    await plainUpload(origin, stack.apiKey, await photo(upright, 2 * RUNS + 2), scene!.phrase);
    for (let run = 0; run < RUNS; run++) {
      const runStarted = performance.now();
      // Two photos per run (one per path), so neither path finds the other's features cached.
      const [forPlain, forSdk] = await Promise.all([photo(upright, 2 * run), photo(upright, 2 * run + 1)]);
      photoBytes = forPlain.length;
      const plain = await measure(link, () => plainUpload(origin, stack.apiKey, forPlain, scene!.phrase));
      // A fresh client: its first call asks GET /v1/models for the input size (counted here).
      const cris = createClient({ endpoint: origin, apiKey: stack.apiKey });
      const sdk = await measure(link, () => cris.segment({ image: forSdk, text: scene!.phrase, format: 'rle' }));
      const second = await measure(link, () => cris.segment({ imageId: sdk.result.image_id, text: 'the small red square', format: 'rle' }));
      for (const result of [plain.result, sdk.result, second.result]) {
        if (result.cached) throw new Error('a measured request was a cache hit');
        if (result.width !== STORED.height || result.height !== STORED.width) throw new Error(`mask is ${result.width}x${result.height}, not the upright photo's size`);
      }
      shrunkSize = `${sdk.result.width}x${sdk.result.height} answered`;
      results.plain.push(plain);
      results.sdk.push(sdk);
      results.imageId.push(second);
      const eta = ((performance.now() - runStarted) * (RUNS - run - 1)) / 1000;
      const timing = (s: Sample & { result: SegmentResult }) => `${s.ms.toFixed(0)} ms (service ${JSON.stringify(s.result.timing)})`;
      console.log(`run ${run + 1}/${RUNS}: plain ${timing(plain)}, sdk ${timing(sdk)} ${(sdk.up / 1024).toFixed(1)} KB up, image_id ${timing(second)}; ETA ${eta.toFixed(0)} s`);
    }
  } finally {
    await link.close();
    await stack.stop();
  }
  const plainMs = median(results.plain.map((v) => v.ms));
  const sdkMs = median(results.sdk.map((v) => v.ms));
  const imageIdMs = median(results.imageId.map((v) => v.ms));
  const sdkUp = median(results.sdk.map((v) => v.up));
  console.log(`\nphoto: ${STORED.width}x${STORED.height} JPEG (EXIF orientation 6), ${(photoBytes / 1024 / 1024).toFixed(2)} MB; masks ${shrunkSize}`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log(`| time to mask, median of ${String(RUNS).padEnd(3)} | ms       | service ms | KB up      | KB down    |`);
  console.log('| -------------------------- | -------- | ---------- | ---------- | ---------- |');
  console.log(row('plain upload (12 MP JPEG)', results.plain));
  console.log(row('SDK shrunk upload', results.sdk));
  console.log(row('second phrase by image_id', results.imageId));
  const checks = [
    [`SDK path ${(plainMs / sdkMs).toFixed(1)}x faster than a plain upload (bar ${BARS.speedup}x, aim 10x)`, plainMs / sdkMs >= BARS.speedup],
    [`second phrase by image_id ${imageIdMs.toFixed(0)} ms (bar < ${BARS.imageIdMs} ms, aim 120 ms)`, imageIdMs < BARS.imageIdMs],
    [`SDK upload ${(sdkUp / 1024).toFixed(1)} KB for the 12 MP photo (bar <= ${BARS.sdkBytes / 1024} KB)`, sdkUp <= BARS.sdkBytes],
  ] as const;
  console.log('');
  for (const [text, ok] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
