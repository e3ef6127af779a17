/**
 * The GPU run's payload in parts: one file cut into pieces that each fit the device tool's
 * transfer limit, with sha256s that run-on-device.sh checks with `sha256sum -c` (the device has
 * no Node.js until the parts are joined, so the join is shell). Used by pack.ts and its test.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MIB = 1024 * 1024;
/** What one device-tool call carries at most: the working tree plus the carried paths. */
export const CALL_LIMIT_BYTES = 64 * MIB;
/** Room left for files that travel besides the part (untracked files, parts.sha256, notes). */
export const CALL_MARGIN_BYTES = 4 * MIB;
/** Parts never exceed this, however small the tree. */
export const MAX_PART_BYTES = 60 * MIB;

export interface PartInfo {
  name: string;
  bytes: number;
  sha256: string;
}

export interface PartSet {
  payload: PartInfo;
  parts: PartInfo[];
  maxPartBytes: number;
}

/**
 * The largest part that still travels with a working tree of `treeBytes` in one call:
 * 64 MiB - tree - margin, at most MAX_PART_BYTES, rounded down to whole MiB.
 */
export function partBudget(treeBytes: number): number {
  const room = CALL_LIMIT_BYTES - treeBytes - CALL_MARGIN_BYTES;
  const budget = Math.floor(Math.min(MAX_PART_BYTES, room) / MIB) * MIB;
  if (budget < 8 * MIB) throw new Error(`the working tree (${(treeBytes / MIB).toFixed(1)} MiB) leaves under 8 MiB per device call for a part`);
  return budget;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Part names: p01, p02, ... (sorted order is join order). */
export function partName(index: number): string {
  return `p${String(index + 1).padStart(2, '0')}`;
}

/**
 * Cuts `payloadPath` into parts of at most `maxPartBytes` in `outDir` (emptied first), and
 * writes `parts.sha256` (the parts) and `payload.sha256` (the joined file, named `payloadName`).
 */
export async function writeParts(payloadPath: string, payloadName: string, outDir: string, maxPartBytes: number): Promise<PartSet> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const source = await open(payloadPath, 'r');
  const parts: PartInfo[] = [];
  const whole = createHash('sha256');
  let total = 0;
  try {
    const chunk = Buffer.alloc(4 * MIB);
    for (let index = 0; ; index++) {
      const hash = createHash('sha256');
      const name = partName(index);
      const target = await open(join(outDir, name), 'w');
      let bytes = 0;
      try {
        while (bytes < maxPartBytes) {
          const { bytesRead } = await source.read(chunk, 0, Math.min(chunk.length, maxPartBytes - bytes), total + bytes);
          if (bytesRead === 0) break;
          const piece = chunk.subarray(0, bytesRead);
          hash.update(piece);
          whole.update(piece);
          await target.write(piece);
          bytes += bytesRead;
        }
      } finally {
        await target.close();
      }
      if (bytes === 0) {
        await rm(join(outDir, name));
        break;
      }
      total += bytes;
      parts.push({ name, bytes, sha256: hash.digest('hex') });
      if (bytes < maxPartBytes) break;
    }
  } finally {
    await source.close();
  }
  const payload = { name: payloadName, bytes: total, sha256: whole.digest('hex') };
  await writeFile(join(outDir, 'parts.sha256'), parts.map((p) => `${p.sha256}  ${p.name}\n`).join(''));
  await writeFile(join(outDir, 'payload.sha256'), `${payload.sha256}  ${payload.name}\n`);
  return { payload, parts, maxPartBytes };
}

/** The part files in `dir`, in join order. */
export async function listParts(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => /^p\d{2}$/.test(name)).sort();
}
