/**
 * `npm run -s tokenize -- --merges FILE --length N [--merges-used M] "text" ["text"...]`
 * prints one JSON array of token ids per text, one per line.
 *
 * Merges used when --merges-used is absent: the merges_used of a bundle manifest.json beside the
 * file that names it; else CLIP's 48894 for CLIP's own file (bpe_simple_vocab_16e6, header
 * `"bpe_simple_vocab_16e6.txt#version: 0.2`, of which CLIP takes the first 49152 - 256 - 2);
 * else every merge in the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClipTokenizer } from '../tokenizer/index.js';

const CLIP_MERGES_USED = 49152 - 256 - 2;

async function defaultMergesUsed(file: string): Promise<number | undefined> {
  const manifestPath = join(dirname(file), 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { text?: { tokenizer?: { merges_file?: string; merges_used?: number } } };
    const tok = manifest.text?.tokenizer;
    if (tok?.merges_file === basename(file) && typeof tok.merges_used === 'number') return tok.merges_used;
  }
  return (await readMergesHeader(file)).startsWith('"bpe_simple_vocab_16e6.txt#') ? CLIP_MERGES_USED : undefined;
}

async function readMergesHeader(file: string): Promise<string> {
  const raw = readFileSync(file);
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).subarray(0, 200).toString('utf8');
  return text.split('\n')[0];
}

const USAGE = 'usage: tokenize --merges FILE --length N [--merges-used M] "text" ["text"...]';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      merges: { type: 'string' },
      length: { type: 'string' },
      'merges-used': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const length = Number(values.length);
  if (!values.merges || !Number.isInteger(length) || length < 2 || positionals.length === 0) {
    console.error(USAGE);
    process.exit(2);
  }
  const mergesUsed = values['merges-used'] === undefined ? await defaultMergesUsed(values.merges) : Number(values['merges-used']);
  const tokenizer = await ClipTokenizer.fromMergesFile(values.merges, mergesUsed);
  const ids = tokenizer.tokenize(positionals, length); // [N, length]
  for (let row = 0; row < positionals.length; row++) {
    console.log(JSON.stringify(Array.from(ids.subarray(row * length, (row + 1) * length), Number)));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
