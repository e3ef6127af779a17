/**
 * The README's sample answer, kept equal to a real one: a real answer is normalised the way the
 * README shows it (ids as placeholders, each polygon ring cut to its first two points, scores
 * rounded to 3 decimals, times to whole ms) and laid out as the README lays it out; times differ
 * from run to run and are compared by name only.
 */
export const ID_PLACEHOLDER = '<64 hex characters: the result key>';
export const IMAGE_ID_PLACEHOLDER = '<64 hex characters: sha256 of the image; send it instead of the image next time>';
const ELLIPSIS = '…';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Answer = { [key: string]: Json };

const round3 = (value: Json): Json => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value);

/** A real answer as the README shows it. Throws if an id is not what the placeholder says. */
export function asShown(answer: Answer): Answer {
  for (const key of ['id', 'image_id']) {
    if (typeof answer[key] !== 'string' || !/^[0-9a-f]{64}$/.test(answer[key] as string)) throw new Error(`${key} is not 64 hex characters: ${answer[key]}`);
  }
  const results = (answer.results as Answer[]).map((result) => {
    const mask = result.mask as Answer;
    const shownMask = mask.format === 'polygon'
      ? { ...mask, coordinates: (mask.coordinates as Json[][][]).map((polygon) => polygon.map((ring) => (ring.length > 2 ? [...ring.slice(0, 2), ELLIPSIS] : ring))) }
      : mask;
    return { ...result, score: round3(result.score), presence: round3(result.presence), mask: shownMask };
  });
  const timing = Object.fromEntries(Object.entries(answer.timing as Answer).map(([key, ms]) => [key, Math.round(ms as number)]));
  return { ...answer, id: ID_PLACEHOLDER, image_id: IMAGE_ID_PLACEHOLDER, results, timing };
}

/** What must match between the README and a real answer: everything but the times' values. */
export function comparable(shown: Answer): Answer {
  const timing = Object.fromEntries(Object.keys((shown.timing as Answer) ?? {}).map((key) => [key, 'a number']));
  return { ...shown, timing };
}

/** JSON with a space after ':' and ',' (the README's spacing), on one line. */
function inline(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{ ${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')} }`;
  return JSON.stringify(value);
}

const entries = (object: Answer, keys: string[]) => keys.filter((key) => key in object).map((key) => `${JSON.stringify(key)}: ${inline(object[key]!)}`);

/** The README's layout: one top-level field a line (width and height together), a result on three lines. */
export function formatSample(shown: Answer): string {
  const first = ['text', 'found', 'presence', 'score'];
  const last = ['mask'];
  const result = (r: Answer) => {
    const middle = Object.keys(r).filter((key) => !first.includes(key) && !last.includes(key));
    return `    { ${[entries(r, first).join(', '), entries(r, middle).join(', '), entries(r, last).join(', ')].filter(Boolean).join(',\n      ')} }`;
  };
  const top = Object.keys(shown).filter((key) => !['width', 'height', 'results'].includes(key));
  const lines = top.flatMap((key) => {
    const line = [`  ${entries(shown, [key])[0]}`];
    if (key === 'model') line.push(`  ${entries(shown, ['width', 'height']).join(', ')}`, `  "results": [\n${(shown.results as Answer[]).map(result).join(',\n')}\n  ]`);
    return line;
  });
  return `{\n${lines.join(',\n')}\n}\n`;
}
