/**
 * `npm run -s tokenize -- --merges FILE --length N [--merges-used M] "text" ["text"...]`
 * prints one JSON array of token ids per text, one per line.
 */
import { parseArgs } from 'node:util';
import { ClipTokenizer } from '../tokenizer/index.js';

const USAGE = 'usage: tokenize --merges FILE --length N [--merges-used M] "text" ["text"...]';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      merges: { type: 'string' },
      length: { type: 'string' },
      'merges-used': { type: 'string' },
    },
    allowPositionals: true,
  });
  const length = Number(values.length);
  if (!values.merges || !Number.isInteger(length) || length < 2 || positionals.length === 0) {
    console.error(USAGE);
    process.exit(2);
  }
  const mergesUsed = values['merges-used'] === undefined ? undefined : Number(values['merges-used']);
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
