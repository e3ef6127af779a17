/**
 * Referring expressions for a target: for each kind, the shortest expressions that the checker
 * accepts as unique, then some redundant words at random, then surface noise (pure, seeded).
 */
import { matchBase, refersUniquely, type SceneSize } from './checker.js';
import type { Rng } from './prng.js';
import type { ObjectFacts } from './scene.js';
import {
  GENERIC_NOUNS,
  LOCATION_PHRASES,
  LOCATION_SUPERLATIVES,
  RELATIONS,
  SIZE_SUPERLATIVES,
  SIZE_WORDS,
  type ColourName,
  type Kind,
  type ShapeName,
} from './vocab.js';

/** A noun phrase as the generator builds it (words, not meanings). */
interface Phrase {
  before?: string; // SIZE word or superlative
  colour?: ColourName;
  shape?: ShapeName; // undefined: generic noun
  after?: string; // LOCATION phrase
}

interface Candidate {
  kind: Kind;
  np: Phrase;
  relation?: { word: string; anchor: Phrase };
}

export interface Expression {
  sentence: string;
  kind: Kind;
}

const KIND_WEIGHTS: Record<Kind, number> = { attribute: 1, size: 2, location: 2, superlative: 2, relation: 3 };

function phraseWords(p: Phrase, rng: Rng | undefined): string[] {
  const noun = p.shape ?? (rng ? rng.pick(GENERIC_NOUNS) : 'shape');
  return [p.before, p.colour, noun, p.after].filter((w): w is string => w !== undefined);
}

/** Canonical text (no optional "the", no noise), used for checking and for the word-count cost. */
function canonical(c: Candidate, rng?: Rng): string {
  const words = phraseWords(c.np, rng);
  if (c.relation) words.push(c.relation.word, 'the', ...phraseWords(c.relation.anchor, rng));
  return words.join(' ');
}

function cost(c: Candidate): number {
  return canonical(c).split(' ').length;
}

/** Kinds other than attribute need at least two objects matching COLOUR + NOUN (no vacuous size or location). */
function valid(c: Candidate, facts: ObjectFacts[], size: SceneSize, target: number): boolean {
  if (c.kind !== 'attribute' && matchBase({ colour: c.np.colour, shape: c.np.shape }, facts).length < 2) return false;
  return refersUniquely(canonical(c), facts, size, target);
}

function basePhrases(o: ObjectFacts): Phrase[] {
  return [{}, { colour: o.colour }, { shape: o.shape }, { colour: o.colour, shape: o.shape }];
}

function candidates(target: ObjectFacts, facts: ObjectFacts[], size: SceneSize): Candidate[] {
  const out: Candidate[] = [];
  const sizeWords = [...Object.keys(SIZE_WORDS)];
  const superlatives = [...Object.keys(SIZE_SUPERLATIVES), ...Object.keys(LOCATION_SUPERLATIVES)];
  const anchors = facts
    .filter((a) => a !== target)
    .flatMap((a) => {
      const unique = basePhrases(a).filter((p) =>
        valid({ kind: 'attribute', np: p }, facts, size, a.index),
      );
      const shortest = Math.min(...unique.map((p) => phraseWords(p, undefined).length));
      return unique.filter((p) => phraseWords(p, undefined).length === shortest);
    });
  for (const np of basePhrases(target)) {
    out.push({ kind: 'attribute', np });
    for (const w of sizeWords) out.push({ kind: 'size', np: { ...np, before: w } });
    for (const w of superlatives) out.push({ kind: 'superlative', np: { ...np, before: w } });
    for (const w of Object.keys(LOCATION_PHRASES)) out.push({ kind: 'location', np: { ...np, after: w } });
    for (const anchor of anchors) {
      for (const word of Object.keys(RELATIONS)) out.push({ kind: 'relation', np, relation: { word, anchor } });
    }
  }
  return out.filter((c) => valid(c, facts, size, target.index));
}

/** Adds a redundant shape noun or colour when the expression stays valid. */
function addRedundancy(c: Candidate, target: ObjectFacts, facts: ObjectFacts[], size: SceneSize, rng: Rng): Candidate {
  let out = c;
  if (!out.np.shape && rng.chance(0.35)) {
    const more = { ...out, np: { ...out.np, shape: target.shape } };
    if (valid(more, facts, size, target.index)) out = more;
  }
  if (!out.np.colour && rng.chance(0.25)) {
    const more = { ...out, np: { ...out.np, colour: target.colour } };
    if (valid(more, facts, size, target.index)) out = more;
  }
  return out;
}

function surface(c: Candidate, rng: Rng): string {
  let text = canonical(c, rng);
  if (rng.chance(0.7)) text = `the ${text}`;
  if (rng.chance(0.2)) text = text[0].toUpperCase() + text.slice(1);
  if (rng.chance(0.15)) text += '.';
  return text;
}

/** Up to `maxSentences` expressions of distinct kinds for the target; empty when none is unique. */
export function referringExpressions(
  target: ObjectFacts,
  facts: ObjectFacts[],
  size: SceneSize,
  rng: Rng,
  maxSentences: number,
): Expression[] {
  const byKind = new Map<Kind, Candidate[]>();
  for (const c of candidates(target, facts, size)) byKind.set(c.kind, [...(byKind.get(c.kind) ?? []), c]);
  const kinds = [...byKind.keys()];
  const chosen: Kind[] = [];
  while (chosen.length < maxSentences && kinds.length > 0) {
    const total = kinds.reduce((s, k) => s + KIND_WEIGHTS[k], 0);
    let r = rng.uniform(0, total);
    let i = 0;
    while (i < kinds.length - 1 && (r -= KIND_WEIGHTS[kinds[i]]) >= 0) i++;
    chosen.push(kinds.splice(i, 1)[0]);
  }
  return chosen.map((kind) => {
    const all = byKind.get(kind)!;
    const shortest = Math.min(...all.map(cost));
    const pick = rng.pick(all.filter((c) => cost(c) === shortest));
    const final = addRedundancy(pick, target, facts, size, rng);
    const sentence = surface(final, rng);
    if (!refersUniquely(sentence, facts, size, target.index)) throw new Error(`generator bug: "${sentence}"`);
    return { sentence, kind };
  });
}
