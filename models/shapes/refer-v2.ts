/**
 * Referring-shapes v2 expressions (REFERRING_SHAPES.md, section v2), pure and seeded:
 * no-target NPs (at least half of them hard: every colour and shape they name is in the scene)
 * and GROUP phrases naming two or more objects. Every sentence is proved by the checker.
 */
import { matchBase, parseGroup, refersToGroup, refersUniquely, resolveGroup, selectsNothing, type SceneSize } from './checker.js';
import type { Rng } from './prng.js';
import type { ObjectFacts } from './scene.js';
import {
  COLOURS,
  GENERIC_NOUNS,
  GENERIC_PLURALS,
  LOCATION_PHRASES,
  LOCATION_SUPERLATIVES,
  PLURAL_SHAPES,
  RELATIONS,
  SHAPES,
  SIZE_SUPERLATIVES,
  SIZE_WORDS,
  type ColourName,
  type ShapeName,
} from './vocab.js';

export interface V2Expression {
  sentence: string;
  kind: 'no-target' | 'group';
}

interface Words {
  before?: string;
  colour?: ColourName;
  shape?: ShapeName;
  after?: string;
}

const SIZE_OR_SUPERLATIVE = [...Object.keys(SIZE_WORDS), ...Object.keys(SIZE_SUPERLATIVES), ...Object.keys(LOCATION_SUPERLATIVES)];
const LOCATIONS = Object.keys(LOCATION_PHRASES);
const PLURAL_OF = Object.fromEntries(Object.entries(PLURAL_SHAPES).map(([plural, shape]) => [shape, plural])) as Record<ShapeName, string>;

function npText(w: Words, rng: Rng): string {
  return [w.before, w.colour, w.shape ?? rng.pick(GENERIC_NOUNS), w.after].filter((x) => x !== undefined).join(' ');
}

function noise(text: string, rng: Rng, article: boolean): string {
  let out = article && rng.chance(0.7) ? `the ${text}` : text;
  if (rng.chance(0.2)) out = out[0].toUpperCase() + out.slice(1);
  if (rng.chance(0.15)) out += '.';
  return out;
}

/** A SIZE/superlative word before, or a LOCATION phrase after, at random (or neither). */
function modifier(rng: Rng): Pick<Words, 'before' | 'after'> {
  const r = rng.next();
  return r < 0.25 ? { before: rng.pick(SIZE_OR_SUPERLATIVE) } : r < 0.5 ? { after: rng.pick(LOCATIONS) } : {};
}

/** Unique attribute phrases of other objects: the anchors of relations. */
function anchorPhrases(facts: ObjectFacts[], size: SceneSize, rng: Rng): { text: string; index: number }[] {
  return facts.flatMap((a) =>
    [{ colour: a.colour }, { shape: a.shape }, { colour: a.colour, shape: a.shape }]
      .map((w) => ({ text: npText(w, rng), index: a.index }))
      .filter((p) => refersUniquely(p.text, facts, size, a.index)),
  );
}

/**
 * Canonical (noise-free) hard no-target phrases, every word naming something in the scene, in
 * three pools: colour + shape never together, relations, and SIZE / LOCATION / superlative margins.
 */
function hardNoTargets(facts: ObjectFacts[], size: SceneSize, rng: Rng): string[][] {
  const colours = [...new Set(facts.map((o) => o.colour))];
  const shapes = [...new Set(facts.map((o) => o.shape))];
  const combos: string[] = [];
  const margins: string[] = [];
  const relations: string[] = [];
  // a colour and a shape that are in the scene, never together ("the green star")
  for (const colour of colours) {
    for (const shape of shapes) if (matchBase({ colour, shape }, facts).length === 0) combos.push(npText({ colour, shape, ...modifier(rng) }, rng));
  }
  // SIZE / LOCATION / superlatives that no object meets by the margins ("the large triangle")
  const bases: Words[] = [{}, ...colours.map((colour) => ({ colour })), ...shapes.map((shape) => ({ shape }))];
  for (const base of bases) {
    if (matchBase(base, facts).length < 2) continue;
    for (const before of SIZE_OR_SUPERLATIVE) margins.push(npText({ ...base, before }, rng));
    for (const after of LOCATIONS) margins.push(npText({ ...base, after }, rng));
  }
  // relations with a unique anchor and no matching object in that direction
  for (const anchor of anchorPhrases(facts, size, rng)) {
    for (const base of bases) {
      if (!matchBase(base, facts).some((o) => o.index !== anchor.index)) continue;
      for (const word of Object.keys(RELATIONS)) relations.push(`${npText(base, rng)} ${word} the ${anchor.text}`);
    }
  }
  return [combos, relations, margins].map((pool) => pool.filter((s) => selectsNothing(s, facts, size)));
}

/** How often each hard pool is drawn from (when not empty): combinations, relations, margins. */
const HARD_POOL_WEIGHTS = [0.5, 0.3, 0.2];

function takeHard(pools: string[][], rng: Rng): string | undefined {
  const open = pools.map((p, i) => (p.length > 0 ? HARD_POOL_WEIGHTS[i] : 0));
  const total = open.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  let r = rng.uniform(0, total);
  let i = 0;
  while (i < pools.length - 1 && (r -= open[i]) >= 0) i++;
  while (pools[i].length === 0) i--;
  return takeDistinct(pools[i], rng);
}

/** Canonical easy no-target phrases: a colour or a shape that no object of the scene has. */
function easyNoTargets(facts: ObjectFacts[], size: SceneSize, rng: Rng): string[] {
  const absentColours = COLOURS.filter((c) => !facts.some((o) => o.colour === c));
  const absentShapes = SHAPES.filter((h) => !facts.some((o) => o.shape === h));
  const out: string[] = [];
  for (const colour of absentColours) out.push(npText({ colour, shape: rng.chance(0.6) ? rng.pick(SHAPES) : undefined, ...modifier(rng) }, rng));
  for (const shape of absentShapes) out.push(npText({ shape, colour: rng.chance(0.5) ? rng.pick(COLOURS) : undefined, ...modifier(rng) }, rng));
  return out.filter((s) => selectsNothing(s, facts, size));
}

function takeDistinct(pool: string[], rng: Rng): string | undefined {
  if (pool.length === 0) return undefined;
  return pool.splice(rng.int(0, pool.length - 1), 1)[0];
}

/**
 * Up to `max` no-target sentences for the scene, alternating hard and easy (hard first, so at
 * least half are hard); none when the scene offers no hard one.
 */
export function noTargetExpressions(facts: ObjectFacts[], size: SceneSize, rng: Rng, max: number): V2Expression[] {
  const hard = hardNoTargets(facts, size, rng);
  const easy = easyNoTargets(facts, size, rng);
  if (hard.every((pool) => pool.length === 0)) return [];
  const out: V2Expression[] = [];
  for (let i = 0; i < max; i++) {
    const canonical = (i % 2 === 0 ? takeHard(hard, rng) : takeDistinct(easy, rng)) ?? takeHard(hard, rng);
    if (canonical === undefined) break;
    const sentence = noise(canonical, rng, true);
    if (!selectsNothing(sentence, facts, size)) throw new Error(`generator bug: "${sentence}" selects something`);
    out.push({ sentence, kind: 'no-target' });
  }
  return out;
}

/** GROUP phrases of the scene with their members (canonical, noise added later). */
function groupPhrases(facts: ObjectFacts[], size: SceneSize): { text: string; members: number[] }[] {
  const colours = [undefined, ...new Set(facts.map((o) => o.colour))];
  const shapes = [undefined, ...new Set(facts.map((o) => o.shape))];
  const texts: string[] = [];
  for (const colour of colours) {
    for (const shape of shapes) {
      const count = matchBase({ colour, shape }, facts).length;
      if (count < 2) continue;
      const nouns = shape ? [PLURAL_OF[shape]] : [...GENERIC_PLURALS];
      for (const noun of nouns) {
        const np = [colour, noun].filter((x) => x !== undefined).join(' ');
        texts.push(`all the ${np}`);
        if (count === 2) texts.push(`both the ${np}`, `the two ${np}`);
        if (count === 3) texts.push(`the three ${np}`);
        for (const half of LOCATIONS) texts.push(`all the ${np} ${half}`);
      }
    }
  }
  return texts
    .map((text) => ({ text, members: resolveGroup(parseGroup(text)!, facts, size).map((o) => o.index) }))
    .filter((g) => g.members.length >= 2);
}

/** One group of the scene (chosen at random) and up to `max` distinct phrases naming exactly it. */
export function groupExpressions(
  facts: ObjectFacts[],
  size: SceneSize,
  rng: Rng,
  max: number,
): { members: number[]; expressions: V2Expression[] } | undefined {
  const phrases = groupPhrases(facts, size);
  if (phrases.length === 0) return undefined;
  const key = (m: number[]): string => [...m].sort((a, b) => a - b).join(',');
  const sets = [...new Set(phrases.map((p) => key(p.members)))];
  const chosen = rng.pick(sets);
  const pool = phrases.filter((p) => key(p.members) === chosen).map((p) => p.text);
  const members = chosen.split(',').map(Number);
  const expressions: V2Expression[] = [];
  while (expressions.length < max) {
    const text = takeDistinct(pool, rng);
    if (text === undefined) break;
    const dropThe = (text.startsWith('all the ') || text.startsWith('both the ')) && rng.chance(0.3);
    const sentence = noise(dropThe ? text.replace(' the ', ' ') : text, rng, false);
    if (!refersToGroup(sentence, facts, size, members)) throw new Error(`generator bug: "${sentence}" is not its group`);
    expressions.push({ sentence, kind: 'group' });
  }
  return { members, expressions };
}
