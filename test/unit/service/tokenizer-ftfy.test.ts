/**
 * The phrase clean-up against the real ftfy and the reference-equivalent tokenizer on 200 hard
 * cases (test/fixtures/ftfy-cases.json, made by models/tokenizer/make_ftfy_cases.py): our ftfy port
 * gives ftfy.fix_text's text, cleanText the reference's cleaned text, and the tokenizer CLI
 * (`npm run tokenize`) the reference's ids, on those cases and on the public golden list.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixText, isBad, pythonHtmlUnescape } from '../../../contract/ftfy/index.js';
import { cleanText } from '../../../contract/text.js';
import { REPO_ROOT, goldenPath, sharedDir } from '../../helpers/golden.js';

interface Case {
  kind: string;
  text: string;
  ftfy: string;
  cleaned: string;
  ids_17: number[];
  ids_77: number[];
}

const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'ftfy-cases.json'), 'utf8')) as { cases: Case[] };
const golden = JSON.parse(readFileSync(goldenPath('tokenizer-public.json'), 'utf8')) as {
  sentences: Array<{ sentence: string; ids_17: number[]; ids_77: number[] }>;
};
const clipMerges = join(sharedDir(), 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');

/** The tokenizer CLI on many phrases at once (after `--`, so a phrase may start with '-'). */
function cliIds(texts: string[], length: number): number[][] {
  const out = execFileSync(
    join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
    ['gpu-service/src/cli/tokenize.ts', '--merges', clipMerges, '--length', String(length), '--', ...texts],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  return out.trim().split('\n').map((line) => JSON.parse(line) as number[]);
}

describe('ftfy port against the real ftfy (200 hard cases)', () => {
  it('has 200 distinct cases, most of which ftfy changes', () => {
    expect(fixture.cases).toHaveLength(200);
    expect(new Set(fixture.cases.map((c) => c.text)).size).toBe(200);
    expect(fixture.cases.filter((c) => c.ftfy !== c.text).length).toBeGreaterThan(100);
  });

  it('fixText and cleanText give what ftfy and the reference clean-up give, case by case', () => {
    const wrong = fixture.cases
      .filter((c) => fixText(c.text) !== c.ftfy || cleanText(c.text) !== c.cleaned)
      .map((c) => `${c.kind}: ${JSON.stringify(c.text)} -> ${JSON.stringify(fixText(c.text))} / ${JSON.stringify(cleanText(c.text))}`);
    expect(wrong).toEqual([]);
  });

  it('repairs mojibake and keeps what ftfy keeps', () => {
    expect(fixText('schÃ¶n')).toBe('schön');
    expect(fixText('âœ” No problems')).toBe('✔ No problems');
    expect(fixText('the 🐶 on the left')).toBe('the 🐶 on the left');
    expect(isBad('the café on the left')).toBe(false);
    expect(fixText('“quoted”')).toBe('"quoted"'); // ftfy's default uncurls quotes
    expect(pythonHtmlUnescape('&ampx &#128; &notit;')).toBe('&x € ¬it;');
  });
});

describe('tokenize CLI gives the reference ids', () => {
  it.each([17, 77])('on the 200 hard cases at length %i', (length) => {
    const ids = cliIds(fixture.cases.map((c) => c.text), length);
    const expected = fixture.cases.map((c) => (length === 17 ? c.ids_17 : c.ids_77));
    const wrong = fixture.cases.filter((_c, i) => JSON.stringify(ids[i]) !== JSON.stringify(expected[i])).map((c) => c.text);
    expect(wrong).toEqual([]);
    expect(ids).toHaveLength(200);
  }, 120_000);

  it('on the public golden list at 17 and 77', () => {
    const texts = golden.sentences.map((s) => s.sentence);
    expect(cliIds(texts, 17)).toEqual(golden.sentences.map((s) => s.ids_17));
    expect(cliIds(texts, 77)).toEqual(golden.sentences.map((s) => s.ids_77));
  }, 120_000);
});
