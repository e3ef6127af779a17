/**
 * The checker: parses a sentence with the grammar of REFERRING_SHAPES.md and resolves it on a
 * scene's facts, independently of how the generator built it. A v1 sentence is valid when it
 * resolves to exactly one object; v2 adds no-target NPs (they resolve to none, every anchor
 * unique) and GROUP phrases (they resolve to all their members, two or more).
 */
import type { ObjectFacts } from './scene.js';
import {
  COLOURS,
  GENERIC_NOUNS,
  GENERIC_PLURALS,
  GROUP_COUNTS,
  LOCATION_MARGIN,
  LOCATION_PHRASES,
  LOCATION_SUPERLATIVES,
  PLURAL_SHAPES,
  RELATION_MARGIN,
  RELATION_NEAREST_MARGIN,
  RELATIONS,
  SHAPES,
  SIZE_RATIO,
  SIZE_SUPERLATIVES,
  SIZE_WORDS,
  type ColourName,
  type Direction,
  type ShapeName,
  type SizeWord,
} from './vocab.js';

export interface NounPhrase {
  size?: SizeWord;
  location?: Direction;
  colour?: ColourName;
  /** undefined: a generic noun (shape, object, one). */
  shape?: ShapeName;
}

export interface Parsed {
  np: NounPhrase;
  relation?: { direction: Direction; anchor: NounPhrase };
}

/** `all [the] [COLOUR] NOUNS [LOCATION-HALF] | both [the] [COLOUR] NOUNS | the (two|three) [COLOUR] NOUNS` */
export interface GroupPhrase {
  /** 'all', 'both' (exactly two) or an exact count. */
  quantifier: 'all' | 'both' | number;
  colour?: ColourName;
  shape?: ShapeName;
  half?: Direction;
}

export interface SceneSize {
  width: number;
  height: number;
}

function parseNounPhrase(words: string[]): NounPhrase {
  let i = 0;
  const np: NounPhrase = {};
  if (words[i] === 'the') i++;
  const w = words[i];
  if (w in SIZE_WORDS) np.size = SIZE_WORDS[w];
  else if (w in SIZE_SUPERLATIVES) np.size = SIZE_SUPERLATIVES[w];
  else if (w in LOCATION_SUPERLATIVES) np.location = LOCATION_SUPERLATIVES[w];
  if (np.size || np.location) i++;
  if ((COLOURS as readonly string[]).includes(words[i])) np.colour = words[i++] as ColourName;
  const noun = words[i++];
  if ((SHAPES as readonly string[]).includes(noun)) np.shape = noun as ShapeName;
  else if (!(GENERIC_NOUNS as readonly string[]).includes(noun)) throw new Error(`expected a noun, got "${noun}"`);
  const rest = words.slice(i).join(' ');
  if (rest) {
    if (!(rest in LOCATION_PHRASES)) throw new Error(`unexpected words "${rest}"`);
    if (np.location || np.size) throw new Error('SIZE or a superlative together with LOCATION');
    np.location = LOCATION_PHRASES[rest];
  }
  return np;
}

function sentenceWords(sentence: string): string[] {
  if (/\s{2,}|^\s|\s$/.test(sentence)) throw new Error('words must be separated by single spaces');
  return sentence.replace(/\.$/, '').toLowerCase().split(' ');
}

/** The GROUP phrase of a sentence, or undefined when it is not one (it does not start as one). */
export function parseGroup(sentence: string): GroupPhrase | undefined {
  const words = sentenceWords(sentence);
  let i = 0;
  let quantifier: GroupPhrase['quantifier'];
  if (words[0] === 'all' || words[0] === 'both') {
    quantifier = words[0];
    i = words[1] === 'the' ? 2 : 1;
  } else if (words[0] === 'the' && words[1] in GROUP_COUNTS) {
    quantifier = GROUP_COUNTS[words[1]];
    i = 2;
  } else return undefined;
  const group: GroupPhrase = { quantifier };
  if ((COLOURS as readonly string[]).includes(words[i])) group.colour = words[i++] as ColourName;
  const noun = words[i++];
  if (noun in PLURAL_SHAPES) group.shape = PLURAL_SHAPES[noun];
  else if (!(GENERIC_PLURALS as readonly string[]).includes(noun)) throw new Error(`expected a plural noun, got "${noun}"`);
  const rest = words.slice(i).join(' ');
  if (rest) {
    if (!(rest in LOCATION_PHRASES)) throw new Error(`unexpected words "${rest}"`);
    if (quantifier !== 'all') throw new Error('LOCATION-HALF only after "all"');
    group.half = LOCATION_PHRASES[rest];
  }
  return group;
}

/** Parses one v1 sentence (surface noise allowed: capital first letter, trailing full stop). */
export function parseSentence(sentence: string): Parsed {
  const words = sentenceWords(sentence);
  for (let i = 0; i < words.length; i++) {
    const two = `${words[i]} ${words[i + 1] ?? ''}`;
    const relation = two in RELATIONS ? two : words[i] in RELATIONS ? words[i] : undefined;
    if (relation === undefined) continue;
    const after = words.slice(i + relation.split(' ').length);
    if (after[0] !== 'the') throw new Error('a relation must be followed by "the NP2"');
    const np = parseNounPhrase(words.slice(0, i));
    if (np.size || np.location) throw new Error('our relations take a plain [COLOUR] NOUN');
    return { np, relation: { direction: RELATIONS[relation], anchor: parseNounPhrase(after.slice(1)) } };
  }
  return { np: parseNounPhrase(words) };
}

const coordinate = (o: ObjectFacts, d: Direction): number =>
  d === 'left' ? -o.cx : d === 'right' ? o.cx : d === 'top' ? -o.cy : o.cy;
const axis = (d: Direction, size: SceneSize): number => (d === 'left' || d === 'right' ? size.width : size.height);

/** Objects matching COLOUR and NOUN. */
export function matchBase(np: Pick<NounPhrase, 'colour' | 'shape'>, objects: ObjectFacts[]): ObjectFacts[] {
  return objects.filter((o) => (!np.colour || o.colour === np.colour) && (!np.shape || o.shape === np.shape));
}

/** Referents of a noun phrase under the page's SIZE / LOCATION / superlative margins. */
export function resolveNounPhrase(np: NounPhrase, objects: ObjectFacts[], size: SceneSize): ObjectFacts[] {
  const base = matchBase(np, objects);
  if (np.size) {
    const small = np.size === 'small';
    return base.filter((o) =>
      base.every((p) => p === o || (small ? p.area >= SIZE_RATIO * o.area : o.area >= SIZE_RATIO * p.area)),
    );
  }
  if (np.location) {
    const d = np.location;
    const margin = LOCATION_MARGIN * axis(d, size);
    return base.filter((o) => base.every((p) => p === o || coordinate(o, d) - coordinate(p, d) >= margin));
  }
  return base;
}

/** Referents of a parsed sentence. */
export function resolveParsed(parsed: Parsed, objects: ObjectFacts[], size: SceneSize): ObjectFacts[] {
  if (!parsed.relation) return resolveNounPhrase(parsed.np, objects, size);
  const anchors = resolveNounPhrase(parsed.relation.anchor, objects, size);
  if (anchors.length !== 1) return [];
  const anchor = anchors[0];
  const d = parsed.relation.direction;
  const margin = RELATION_MARGIN * axis(d, size);
  const candidates = resolveNounPhrase(parsed.np, objects, size)
    .filter((o) => o !== anchor && coordinate(o, d) - coordinate(anchor, d) >= margin)
    .map((o) => ({ o, dist: Math.hypot(o.cx - anchor.cx, o.cy - anchor.cy) }))
    .sort((a, b) => a.dist - b.dist);
  if (candidates.length <= 1) return candidates.map((c) => c.o);
  const gap = RELATION_NEAREST_MARGIN * Math.min(size.width, size.height);
  return candidates.filter((c) => c.dist - candidates[0].dist < gap).map((c) => c.o);
}

/** Signed distance of an object's centre into a half of the image, as a fraction of that axis. */
function intoHalf(o: ObjectFacts, half: Direction, size: SceneSize): number {
  const middle = (half === 'left' || half === 'right' ? size.width : size.height) / 2;
  return (half === 'left' || half === 'top' ? middle - (half === 'left' ? o.cx : o.cy) : (half === 'right' ? o.cx : o.cy) - middle) /
    axis(half, size);
}

/**
 * Members of a GROUP phrase: every object matching COLOUR + NOUN (in the half, by the 10 % margin).
 * None when the phrase does not fit the scene: fewer than two members, a count or "both" that
 * disagrees, or a matching object too near the middle line to say which half it is in.
 */
export function resolveGroup(group: GroupPhrase, objects: ObjectFacts[], size: SceneSize): ObjectFacts[] {
  let members = matchBase(group, objects);
  if (group.half) {
    const half = group.half;
    if (members.some((o) => Math.abs(intoHalf(o, half, size)) < LOCATION_MARGIN)) return [];
    members = members.filter((o) => intoHalf(o, half, size) >= LOCATION_MARGIN);
  }
  const wanted = group.quantifier === 'all' ? undefined : group.quantifier === 'both' ? 2 : group.quantifier;
  if (members.length < 2 || (wanted !== undefined && members.length !== wanted)) return [];
  return members;
}

/** Indices of the objects a sentence refers to (v1: one is valid; a GROUP phrase: its members). */
export function referents(sentence: string, objects: ObjectFacts[], size: SceneSize): number[] {
  const group = parseGroup(sentence);
  if (group) return resolveGroup(group, objects, size).map((o) => o.index);
  return resolveParsed(parseSentence(sentence), objects, size).map((o) => o.index);
}

/** True when the sentence is a GROUP phrase whose members are exactly `members` (two or more). */
export function refersToGroup(sentence: string, objects: ObjectFacts[], size: SceneSize, members: number[]): boolean {
  try {
    if (!parseGroup(sentence) || members.length < 2) return false;
    const found = referents(sentence, objects, size).sort((a, b) => a - b);
    const want = [...members].sort((a, b) => a - b);
    return found.length === want.length && found.every((v, i) => v === want[i]);
  } catch {
    return false;
  }
}

/**
 * True when the sentence is a v1 NP (relations included) that selects no object of the scene,
 * every relation anchor itself naming exactly one object (so "nothing" is not an ambiguous anchor).
 */
export function selectsNothing(sentence: string, objects: ObjectFacts[], size: SceneSize): boolean {
  try {
    if (parseGroup(sentence)) return false;
    const parsed = parseSentence(sentence);
    if (parsed.relation && resolveNounPhrase(parsed.relation.anchor, objects, size).length !== 1) return false;
    return resolveParsed(parsed, objects, size).length === 0;
  } catch {
    return false;
  }
}

/** A hard no-target phrase: every colour and shape it names (NP2's included) is some object's. */
export function namesOnlyPresent(sentence: string, objects: ObjectFacts[]): boolean {
  const parsed = parseSentence(sentence);
  const nps = parsed.relation ? [parsed.np, parsed.relation.anchor] : [parsed.np];
  return nps.every(
    (np) => (!np.colour || objects.some((o) => o.colour === np.colour)) && (!np.shape || objects.some((o) => o.shape === np.shape)),
  );
}

/** True when the sentence refers to exactly `target` and nothing else. */
export function refersUniquely(sentence: string, objects: ObjectFacts[], size: SceneSize, target: number): boolean {
  try {
    const found = referents(sentence, objects, size);
    return found.length === 1 && found[0] === target;
  } catch {
    return false;
  }
}
