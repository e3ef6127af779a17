import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ClipTokenizer, parseMerges } from '../../../gpu-service/src/tokenizer/index.js';
import { cleanText } from '../../../contract/text.js';
import { REPO_ROOT, goldenPath, sharedDir } from '../../helpers/golden.js';

interface GoldenSentence {
  sentence: string;
  cleaned: string;
  ids_17: number[];
  ids_77: number[];
  bpe: number[];
  bpe_strings: string[];
}

const golden = JSON.parse(readFileSync(goldenPath('tokenizer-public.json'), 'utf8')) as {
  meta: { sot: number; eot: number };
  sentences: GoldenSentence[];
};
const clipMerges = join(sharedDir(), 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');

describe('CLIP BPE tokenizer against the reference ids', () => {
  let tokenizer: ClipTokenizer;
  beforeAll(async () => {
    tokenizer = await ClipTokenizer.fromMergesFile(clipMerges, 48894);
  });

  it('has the CLIP vocabulary layout', () => {
    expect(tokenizer.vocabSize).toBe(49408);
    expect(tokenizer.sotId).toBe(golden.meta.sot);
    expect(tokenizer.eotId).toBe(golden.meta.eot);
  });

  it.each(golden.sentences.map((s) => [JSON.stringify(s.sentence), s] as const))('%s', (_name, s) => {
    expect(cleanText(s.sentence)).toBe(s.cleaned);
    expect(tokenizer.encodePieces(s.sentence)).toEqual(s.bpe_strings);
    expect(tokenizer.encode(s.sentence)).toEqual(s.bpe);
    expect(Array.from(tokenizer.tokenize([s.sentence], 17), Number)).toEqual(s.ids_17);
    expect(Array.from(tokenizer.tokenize([s.sentence], 77), Number)).toEqual(s.ids_77);
  });

  it('tokenizes a batch row-major [N, L]', () => {
    const [a, b] = golden.sentences;
    const ids = Array.from(tokenizer.tokenize([a.sentence, b.sentence], 17), Number);
    expect(ids).toEqual([...a.ids_17, ...b.ids_17]);
  });

  it('encodes a phrase sent again from its memo: the same ids, truncated or not, without a second encoding', async () => {
    const fresh = await ClipTokenizer.fromMergesFile(clipMerges, 48894);
    const long = golden.sentences.reduce((a, b) => (b.ids_77.filter((id) => id !== 0).length > a.ids_77.filter((id) => id !== 0).length ? b : a));
    const encode = vi.spyOn(fresh, 'encode');
    expect(Array.from(fresh.tokenize([long.sentence], 17), Number)).toEqual(long.ids_17);
    expect(Array.from(fresh.tokenize([long.sentence], 77), Number)).toEqual(long.ids_77);
    expect(Array.from(fresh.tokenize([long.sentence, long.sentence], 17), Number)).toEqual([...long.ids_17, ...long.ids_17]);
    expect(encode).toHaveBeenCalledTimes(1);
  });
});

describe('merges files', () => {
  it('reads the header-first format, honours merges_used and refuses asking for too many', () => {
    const merges = parseMerges('#version: 0.2\na b\nab c\n', 1);
    expect(merges).toEqual([['a', 'b']]);
    expect(parseMerges('#version: 0.2\na b\nab c\n')).toHaveLength(2);
    expect(() => parseMerges('#version: 0.2\na b\n', 5)).toThrow(/merges_used/);
  });

  it('applies a small learned merge list and gives a vocabulary of 512 + merges + 2', async () => {
    // A merges file learned from a few sentences (greedy pair counting, as a BPE trainer does).
    const merges = learnMerges(['the red circle', 'the blue square on the left', 'the red star'], 12);
    const dir = mkdtempSync(join(tmpdir(), 'bpe-'));
    const file = join(dir, 'merges.txt.gz');
    writeFileSync(file, gzipSync('#version: 0.2\n' + merges.map((m) => m.join(' ')).join('\n') + '\n'));
    const tokenizer = await ClipTokenizer.fromMergesFile(file);
    expect(tokenizer.vocabSize).toBe(512 + merges.length + 2);
    expect(tokenizer.sotId).toBe(512 + merges.length);
    const pieces = tokenizer.encodePieces('The red circle');
    expect(pieces.join('')).toBe('the</w>red</w>circle</w>');
    expect(pieces).toContain('the</w>');
    expect(pieces.length).toBeLessThan('theredcircle'.length);
    // Every piece maps to an id below the specials, ids are stable across calls.
    const ids = tokenizer.encode('the red circle');
    expect(ids.every((id) => id < tokenizer.sotId)).toBe(true);
    expect(tokenizer.encode('the red circle')).toEqual(ids);
  });
});

describe('tokenize CLI', () => {
  const cli = (...args: string[]) =>
    execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['gpu-service/src/cli/tokenize.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as number[]);

  it('uses CLIP\'s 48894 merges for CLIP\'s file and every merge of another file by default', () => {
    expect(cli('--merges', clipMerges, '--length', '17', golden.sentences[2].sentence)).toEqual([golden.sentences[2].ids_17]);
    const dir = mkdtempSync(join(tmpdir(), 'bpe-cli-'));
    const file = join(dir, 'merges.txt');
    writeFileSync(file, '#version: 0.2\nt h\nth e</w>\n');
    // 512 byte tokens + 2 merges: SOT = 514, EOT = 515; "the" is one piece (id 513).
    expect(cli('--merges', file, '--length', '5', 'the')).toEqual([[514, 513, 515, 0, 0]]);
  }, 120_000);

  it('prints one JSON array of ids per text', () => {
    const out = execFileSync(
      join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      ['gpu-service/src/cli/tokenize.ts', '--merges', clipMerges, '--merges-used', '48894', '--length', '17', 'the man on the left', 'Woman in RED shirt'],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([golden.sentences[0].ids_17, golden.sentences[1].ids_17]);
  }, 120_000);
});

/** Tiny BPE trainer over words with `</w>`, for a merges file that is not CLIP's. */
function learnMerges(sentences: string[], count: number): Array<[string, string]> {
  const words = sentences.flatMap((s) => s.split(' ')).map((w) => [...w.slice(0, -1)].concat(w.slice(-1) + '</w>'));
  const merges: Array<[string, string]> = [];
  for (let n = 0; n < count; n++) {
    const counts = new Map<string, number>();
    for (const w of words) for (let i = 0; i < w.length - 1; i++) counts.set(`${w[i]} ${w[i + 1]}`, (counts.get(`${w[i]} ${w[i + 1]}`) ?? 0) + 1);
    const best = [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0];
    if (!best) break;
    const [a, b] = best[0].split(' ');
    merges.push([a, b]);
    for (const w of words) {
      for (let i = 0; i < w.length - 1; i++) if (w[i] === a && w[i + 1] === b) w.splice(i, 2, a + b);
    }
  }
  return merges;
}
