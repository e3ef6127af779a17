/** Test scenes and a closed-loop HTTP load generator shared by the service benchmarks. */
import sharp from 'sharp';
import { percentile } from './stats.js';

const COLOURS = ['#e53935', '#fb8c00', '#fdd835', '#43a047', '#1e88e5', '#8e24aa', '#ec407a'];

/** A scene of coloured shapes (480x360 by default), different per seed. */
export async function scene(seed: number, width = 480, height = 360, format: 'png' | 'jpeg' = 'png'): Promise<Uint8Array> {
  let state = seed * 2654435761;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const shapes = Array.from({ length: 4 }, (_, i) => {
    const r = (0.05 + random() * 0.12) * Math.min(width, height);
    const x = r + random() * (width - 2 * r);
    const y = r + random() * (height - 2 * r);
    const fill = COLOURS[(seed + i) % COLOURS.length];
    return i % 2 ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${fill}"/>` : `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${fill}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#d8d4cc"/>${shapes.join('')}</svg>`;
  const image = sharp(Buffer.from(svg));
  return new Uint8Array(format === 'png' ? await image.png().toBuffer() : await image.jpeg({ quality: 90 }).toBuffer());
}

export interface LoadResult {
  concurrency: number;
  requests: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  /** Sorted, ms. */
  latencies: number[];
}

/**
 * `total` requests from `concurrency` closed-loop clients, cycling through `inits`. With `maxMs`,
 * clients take no new request after that long (`requests` says how many ran).
 */
export async function load(url: string, inits: RequestInit[], concurrency: number, total: number, maxMs = Infinity): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + maxMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && performance.now() < deadline) {
        const init = inits[next++ % inits.length];
        const t0 = performance.now();
        const response = await fetch(`${url}/v1/segment`, init);
        await response.arrayBuffer();
        if (response.status !== 200) errors++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  return { concurrency, requests, throughput: requests / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, latencies };
}

/** Parts of one load point: total requests over total time; latency percentiles pooled. */
export function combine(parts: LoadResult[]): LoadResult {
  const requests = parts.reduce((sum, h) => sum + h.requests, 0);
  const seconds = parts.reduce((sum, h) => sum + h.requests / h.throughput, 0);
  const latencies = parts.flatMap((h) => h.latencies).sort((a, b) => a - b);
  return {
    concurrency: parts[0].concurrency,
    requests,
    throughput: requests / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: parts.reduce((sum, h) => sum + h.errors, 0),
    latencies,
  };
}
