/** The words of referring-shapes v1 (REFERRING_SHAPES.md), shared by the generator and the checker. */

export const SHAPES = ['circle', 'square', 'triangle', 'star', 'hexagon'] as const;
export type ShapeName = (typeof SHAPES)[number];

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink'] as const;
export type ColourName = (typeof COLOURS)[number];

/** Nouns that match any object. */
export const GENERIC_NOUNS = ['shape', 'object', 'one'] as const;

export type Direction = 'left' | 'right' | 'top' | 'bottom';
export type SizeWord = 'small' | 'large';

/** SIZE words and what they mean. */
export const SIZE_WORDS: Record<string, SizeWord> = { small: 'small', little: 'small', big: 'large', large: 'large' };
/** Superlatives that stand in place of SIZE. */
export const SIZE_SUPERLATIVES: Record<string, SizeWord> = { largest: 'large', biggest: 'large', smallest: 'small' };
/** Superlatives that stand in place of LOCATION (written before the colour). */
export const LOCATION_SUPERLATIVES: Record<string, Direction> = {
  leftmost: 'left',
  rightmost: 'right',
  topmost: 'top',
  highest: 'top',
  lowest: 'bottom',
  bottom: 'bottom',
};
/** LOCATION phrases (after the noun). */
export const LOCATION_PHRASES: Record<string, Direction> = {
  'on the left': 'left',
  'on the right': 'right',
  'at the top': 'top',
  'at the bottom': 'bottom',
};
/** Relation words between NP and NP2, and the direction of the target from NP2. */
export const RELATIONS: Record<string, Direction> = {
  'left of': 'left',
  'right of': 'right',
  above: 'top',
  below: 'bottom',
};

/** The sentence kinds recorded in refs.jsonl. */
export const KINDS = ['attribute', 'size', 'location', 'superlative', 'relation'] as const;
export type Kind = (typeof KINDS)[number];

/** Margins of the page: SIZE needs 1.5x in area; LOCATION/superlatives 10 % of the image side. */
export const SIZE_RATIO = 1.5;
export const LOCATION_MARGIN = 0.1;
/** Our relation rule: the target is at least this far (fraction of the axis) in the direction from NP2,
 * and the nearest such one by this fraction of the shorter side over the next. */
export const RELATION_MARGIN = 0.05;
export const RELATION_NEAREST_MARGIN = 0.1;

// ---- v2 (REFERRING_SHAPES.md, section v2): group phrases and the sentence kinds of v2 ----

/** Plural nouns of GROUP phrases; a generic plural (shapes, objects) matches any object. */
export const PLURAL_SHAPES: Record<string, ShapeName> = {
  circles: 'circle',
  squares: 'square',
  triangles: 'triangle',
  stars: 'star',
  hexagons: 'hexagon',
};
export const GENERIC_PLURALS = ['shapes', 'objects'] as const;
/** Counting words of "the (two | three) NOUNS". */
export const GROUP_COUNTS: Record<string, number> = { two: 2, three: 3 };

/** Kinds of v2 sentences; v1 kinds stay as they are. */
export const V2_KINDS = ['no-target', 'group'] as const;
export type V2Kind = (typeof V2_KINDS)[number];
export type AnyKind = Kind | V2Kind;
