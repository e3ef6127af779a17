/**
 * Reading a bundle folder: manifest.json parsed and checked, every listed file's sha256 checked
 * (streamed, nothing kept in memory). The ONNX-side checks live in check.ts and run when the
 * sessions exist (inference/onnx-runner.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BundleManifestSchema, fieldPath, type BundleManifest } from './schema.js';

export class BundleError extends Error {
  constructor(
    readonly bundleDir: string,
    message: string,
  ) {
    super(`bundle ${bundleDir}: ${message}`);
    this.name = 'BundleError';
  }
}

export interface Bundle {
  /** Absolute folder path. */
  dir: string;
  manifest: BundleManifest;
  /** Absolute path of a file of the bundle. */
  path(file: string): string;
}

/** `<id>@<version>`: the `model` of results and of the result key. */
export function modelName(manifest: Pick<BundleManifest, 'id' | 'version'>): string {
  return `${manifest.id}@${manifest.version}`;
}

export function parseManifest(json: unknown, dir = '.'): BundleManifest {
  const parsed = BundleManifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : '';
    throw new BundleError(dir, `${fieldPath(first.path)}: ${first.message}${more}`);
  }
  return parsed.data;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Reads and checks manifest.json and the sha256 of every file it lists. */
export async function readBundle(bundleDir: string): Promise<Bundle> {
  const dir = resolve(bundleDir);
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new BundleError(dir, 'manifest.json not found');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BundleError(dir, `manifest.json is not JSON: ${(error as Error).message}`);
  }
  const manifest = parseManifest(json, dir);
  for (const [file, expected] of Object.entries(manifest.files)) {
    let actual: string;
    try {
      actual = await sha256File(join(dir, file));
    } catch {
      throw new BundleError(dir, `manifest.files["${file}"]: file not found`);
    }
    if (actual !== expected) {
      throw new BundleError(dir, `manifest.files["${file}"]: sha256 is ${actual}, the manifest says ${expected}`);
    }
  }
  return { dir, manifest, path: (file) => join(dir, file) };
}
