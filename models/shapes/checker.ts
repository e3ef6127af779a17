/**
 * The checker: parses a sentence with the grammar of REFERRING_SHAPES.md and resolves it on a
 * scene's facts, independently of how the generator built it. A sentence is valid when it
 * resolves to exactly one object.
 */
import type { ObjectFacts } from './scene.js';
import {
  COLOURS,
  GENERIC_NOUNS,
  LOCATION_MARGIN,
  LOCATION_PHRASES,
  LOCATION_SUPERLATIVES,
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

/** Parses one sentence (surface noise allowed: capital first letter, trailing full stop). */
export function parseSentence(sentence: string): Parsed {
  if (/\s{2,}|^\s|\s$/.test(sentence)) throw new Error('words must be separated by single spaces');
  const words = sentence.replace(/\.$/, '').toLowerCase().split(' ');
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
export function matchBase(np: NounPhrase, objects: ObjectFacts[]): ObjectFacts[] {
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

/** Indices of the objects a sentence refers to (empty or several: not a valid expression). */
export function referents(sentence: string, objects: ObjectFacts[], size: SceneSize): number[] {
  return resolveParsed(parseSentence(sentence), objects, size).map((o) => o.index);
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
