/**
 * Test helpers for the golden files made by the reference code: where the shared folder is, and a
 * reader for numpy `.npy` files (little-endian, C order).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `../shared` beside the repository root, or `$CRIS_SHARED_DIR`. Throws when it is missing. */
export function sharedDir(): string {
  const dir = process.env.CRIS_SHARED_DIR ?? resolve(REPO_ROOT, '..', 'shared');
  if (!existsSync(dir)) throw new Error(`shared golden folder not found at ${dir} (set CRIS_SHARED_DIR)`);
  return dir;
}

export function goldenPath(...parts: string[]): string {
  return join(sharedDir(), 'golden', ...parts);
}

export type NpyData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

export interface NpyArray<T extends NpyData = NpyData> {
  dtype: string;
  shape: number[];
  data: T;
}

const DTYPES: Record<string, (buf: ArrayBuffer) => NpyData> = {
  '<f4': (b) => new Float32Array(b),
  '<f8': (b) => new Float64Array(b),
  '|u1': (b) => new Uint8Array(b),
  '|b1': (b) => new Uint8Array(b),
  '<i4': (b) => new Int32Array(b),
  '<i8': (b) => new BigInt64Array(b),
};

/** Parses an `.npy` file (format versions 1-3). */
export function readNpy<T extends NpyData = NpyData>(path: string): NpyArray<T> {
  const bytes = readFileSync(path);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not an .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!descr || !DTYPES[descr]) throw new Error(`${path}: unsupported dtype ${descr}`);
  if (fortran) throw new Error(`${path}: fortran order not supported`);
  const start = headerStart + headerLength;
  const copy = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length);
  return { dtype: descr, shape, data: DTYPES[descr](copy) as T };
}

/**
 * A random-init `small` bundle exported by the project's exporter (S = 224 to keep it quick),
 * for tests that need real ONNX graphs.
 */
export function randomSmallBundle(): Promise<string> {
  const merges = join(sharedDir(), 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');
  return exportedBundle('small-224', ['--random-init', 'small', '--vocab', merges, '--input-size', '224', '--id', 'test-small']);
}

/**
 * The same random-init `small` bundle with a presence head: head.onnx's second output `presence`
 * [B,1] (a logit) and the manifest's `presence_threshold` (0.5), as models/BUNDLE.md describes.
 */
export function randomSmallPresenceBundle(): Promise<string> {
  const merges = join(sharedDir(), 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');
  return exportedBundle('small-presence-224', [
    '--random-init', 'small', '--presence', '--vocab', merges, '--input-size', '224', '--id', 'test-small-presence',
  ]);
}

/** The reference's official-format mini checkpoint (golden/official-mini) exported to a bundle. */
export function officialMiniBundle(): Promise<string> {
  const merges = join(sharedDir(), 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');
  const checkpoint = goldenPath('official-mini', 'best_model.pth');
  return exportedBundle('official-mini', ['--checkpoint', checkpoint, '--vocab', merges, '--num-head', '2', '--id', 'official-mini']);
}

/**
 * Runs `export_onnx.py ARGS --out DIR` once per exporter/model source version and arguments into
 * `.cache/test-bundles/` (a changed exporter exports again; parallel test files wait on a lock).
 * If the exporter fails, this throws: nothing is skipped.
 */
export async function exportedBundle(name: string, args: string[]): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { mkdirSync, readdirSync, renameSync, rmSync, statSync } = await import('node:fs');
  const hash = createHash('sha256').update(JSON.stringify(args));
  for (const folder of ['models/export', 'models/cris']) {
    for (const file of readdirSync(join(REPO_ROOT, folder)).sort()) {
      if (file.endsWith('.py')) hash.update(file).update(readFileSync(join(REPO_ROOT, folder, file)));
    }
  }
  const root = join(REPO_ROOT, '.cache', 'test-bundles');
  const dir = join(root, `${name}-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(join(dir, 'manifest.json'))) return dir;
      // A lock older than 10 minutes was left by a killed run.
      if (Date.now() - statSync(lock).mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (existsSync(join(dir, 'manifest.json'))) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts', 'py.mjs'), 'models/export/export_onnx.py', ...args, '--out', tmp], {
      cwd: REPO_ROOT,
      maxBuffer: 16 << 20,
    });
    renameSync(tmp, dir);
    // Older exports of this name (from earlier exporter sources) are stale: keep the cache small.
    for (const entry of readdirSync(root)) {
      if (entry.startsWith(`${name}-`) && join(root, entry) !== dir && !entry.endsWith('.lock')) {
        rmSync(join(root, entry), { recursive: true, force: true });
      }
    }
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** One image of `golden/preprocess/preprocess_golden.json`. */
export interface PreprocessGoldenImage {
  name: string;
  file: string;
  width: number;
  height: number;
}

export interface PreprocessGolden {
  meta: { input_size: number; mean: number[]; std: number[] };
  images: PreprocessGoldenImage[];
}

export function readPreprocessGolden(): PreprocessGolden {
  return JSON.parse(readFileSync(goldenPath('preprocess', 'preprocess_golden.json'), 'utf8')) as PreprocessGolden;
}

/** The array `golden/preprocess/<image name><suffix>.npy`, e.g. ('img_a_640x480', '_mask'). */
export function preprocessNpy<T extends NpyData>(name: string, suffix: string): T {
  return readNpy<T>(goldenPath('preprocess', `${name}${suffix}.npy`)).data;
}

/** Largest element-wise |a - b|; the lengths must agree. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
