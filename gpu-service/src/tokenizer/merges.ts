/** Reading a CLIP-format BPE merges file: first line a header, then one "a b" pair per line. */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export type MergePair = readonly [string, string];

/** Parses merges text; takes the first `mergesUsed` pairs after the header (all when absent). */
export function parseMerges(text: string, mergesUsed?: number): MergePair[] {
  // CLIP: merges = text.split('\n')[1 : 1 + merges_used]; the header line is skipped.
  const available = text.split('\n').slice(1);
  while (available.length > 0 && available[available.length - 1] === '') available.pop();
  const count = mergesUsed ?? available.length;
  if (!Number.isInteger(count) || count < 0 || count > available.length) {
    throw new Error(`merges file has ${available.length} merges, ${count} requested (merges_used)`);
  }
  return available.slice(0, count).map((line, i) => {
    const parts = line.split(' ');
    if (parts.length !== 2) throw new Error(`merges line ${i + 2} is not "a b": ${JSON.stringify(line)}`);
    return [parts[0], parts[1]] as const;
  });
}

/** Reads a merges file, gzip or plain (detected by its magic bytes). */
export async function readMergesFile(path: string, mergesUsed?: number): Promise<MergePair[]> {
  const raw = await readFile(path);
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  return parseMerges(bytes.toString('utf8'), mergesUsed);
}
