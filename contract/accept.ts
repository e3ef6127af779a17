/**
 * `Accept` negotiation between the two answers a segment request can have (JSON or the mask
 * PNG), shared by the edge and the GPU service. RFC 9110 §12.5.1: each media range has a q-value
 * (default 1, `q=0` means "not acceptable"); the most specific range that matches a type gives
 * its q. PNG is chosen only when it is acceptable and preferred over JSON (ties go to PNG only
 * when PNG is named explicitly), so `*\/*` and no header keep JSON.
 */

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseRanges(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const [type, subtype] = range.trim().split('/');
    if (!type || !subtype) continue;
    const qParam = params.map((p) => p.trim()).find((p) => /^q\s*=/.test(p));
    const q = qParam === undefined ? 1 : Number(qParam.slice(qParam.indexOf('=') + 1).trim());
    if (!Number.isFinite(q) || q < 0 || q > 1) continue; // a malformed q-value ignores its range
    ranges.push({ type: type.trim(), subtype: subtype.trim(), q });
  }
  return ranges;
}

/** The q-value `accept` gives `mediaType` (`type/subtype`); 0 when no range matches. */
export function acceptQuality(accept: string, mediaType: string): number {
  const [type, subtype] = mediaType.toLowerCase().split('/');
  let best = -1;
  let q = 0;
  for (const range of parseRanges(accept)) {
    const specificity =
      range.type === type && range.subtype === subtype ? 2 : range.type === type && range.subtype === '*' ? 1 : range.type === '*' && range.subtype === '*' ? 0 : -1;
    if (specificity > best) {
      best = specificity;
      q = range.q;
    } else if (specificity === best && specificity >= 0) {
      q = Math.max(q, range.q);
    }
  }
  return q;
}

/** True when `Accept` makes the PNG mask acceptable and preferred over JSON. */
export function acceptsPng(accept: string | undefined): boolean {
  if (!accept) return false;
  const png = acceptQuality(accept, 'image/png');
  const json = acceptQuality(accept, 'application/json');
  if (png <= 0) return false;
  if (png !== json) return png > json;
  // A tie: PNG only when it was asked for by name (`image/png, application/json`), not by a wildcard.
  return parseRanges(accept).some((r) => r.type === 'image' && r.subtype === 'png' && r.q > 0);
}
