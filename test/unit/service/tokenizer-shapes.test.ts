/**
 * Parity of the TypeScript tokenizer with the project's Python CLIP BPE (models/tokenizer, real
 * ftfy) on the small model's vocabulary — the shipped models/cris-shapes-s merges when that bundle
 * exists, else the committed models/tokenizer/shapes_merges.txt.gz — and, separately, on merges
 * learned here by models/tokenizer/learn_merges.py; over generated referring-shapes sentences
 * plus surface-noise variants.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../../gpu-service/src/tokenizer/index.js';
import { REPO_ROOT } from '../../helpers/golden.js';

const run = promisify(execFile);
const python = join(REPO_ROOT, 'models', '.venv', 'bin', 'python');
const shippedBundle = join(REPO_ROOT, 'models', 'cris-shapes-s');
const committedMerges = join(REPO_ROOT, 'models', 'tokenizer', 'shapes_merges.txt.gz');

let work: string;
let learnedMerges: string;
let sentences: string[];

/** The small model's merges: the shipped bundle's, else the committed file. */
function smallModelMerges(): { file: string; used?: number } {
  if (existsSync(join(shippedBundle, 'manifest.json'))) {
    const manifest = JSON.parse(readFileSync(join(shippedBundle, 'manifest.json'), 'utf8'));
    return { file: join(shippedBundle, manifest.text.tokenizer.merges_file), used: manifest.text.tokenizer.merges_used };
  }
  return { file: committedMerges };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tok-shapes-'));
  await run(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['models/shapes/cli.ts', '--out', join(work, 'data'), '--n', '60', '--seed', '4242', '--split', 'val'], {
    cwd: REPO_ROOT,
  });
  const refs = readFileSync(join(work, 'data', 'refs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { sentences: string[] });
  const generated = refs.flatMap((r) => r.sentences);
  sentences = [
    ...generated,
    ...generated.slice(0, 20).map((s) => s.toUpperCase() + '.'),
    'the  red circle ’s  left',
    'ﬁrst blue star; left-of the hexagon!',
    'Ｔｈｅ ｒｅｄ ｏｎｅ',
    'pink & purple &amp; orange',
    'a '.repeat(30),
    '',
  ];
  learnedMerges = join(work, 'merges.txt.gz');
  await run(python, ['-m', 'models.tokenizer.learn_merges', '--data', join(work, 'data'), '--out', learnedMerges], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONPATH: REPO_ROOT },
  });
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function expectParity(mergesFile: string, mergesUsed: number | undefined): Promise<void> {
  writeFileSync(join(work, 'sentences.json'), JSON.stringify(sentences));
  const script = [
    'import json, sys',
    'from models.tokenizer.clip_bpe import ClipBpe',
    'used = None if sys.argv[3] == "all" else int(sys.argv[3])',
    'tok = ClipBpe.from_file(sys.argv[1], merges_used=used)',
    'texts = json.load(open(sys.argv[2], encoding="utf-8"))',
    'print(json.dumps({str(L): tok.tokenize(texts, L).tolist() for L in (17, 22)}))',
  ].join('\n');
  const { stdout } = await run(python, ['-c', script, mergesFile, join(work, 'sentences.json'), String(mergesUsed ?? 'all')], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONPATH: REPO_ROOT },
    maxBuffer: 64 << 20,
  });
  const reference = JSON.parse(stdout) as Record<string, number[][]>;
  const tokenizer = await ClipTokenizer.fromMergesFile(mergesFile, mergesUsed);
  expect(tokenizer.vocabSize).toBeLessThan(49408); // the small vocabulary, not CLIP's
  for (const L of [17, 22]) {
    const ids = tokenizer.tokenize(sentences, L);
    const rows = sentences.map((_, r) => Array.from(ids.subarray(r * L, (r + 1) * L), Number));
    rows.forEach((row, r) => expect({ sentence: sentences[r], ids: row }).toEqual({ sentence: sentences[r], ids: reference[String(L)][r] }));
  }
}

describe('tokenizer parity with models/tokenizer (Python) on small vocabularies', () => {
  it('the small model merges: same ids for every sentence at word_len 17 and 22', async () => {
    const { file, used } = smallModelMerges();
    expect(existsSync(file)).toBe(true);
    await expectParity(file, used);
  }, 120_000);

  it('merges learned here from generated sentences: same ids', async () => {
    await expectParity(learnedMerges, undefined);
  }, 120_000);
});
