/** UTC calendar helpers for the ledger (days `YYYY-MM-DD`, months `YYYY-MM`). */

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function secondsToNextMonth(ms: number): number {
  const now = new Date(ms);
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - ms) / 1000));
}

/** True for a real UTC calendar day written `YYYY-MM-DD` (2026-02-30 and 2026-13-01 are not). */
export function isCalendarDay(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return utcDay(ms) === text;
}

/** The first day of `ms`'s month. */
export function monthStart(ms: number): string {
  return `${monthOf(ms)}-01`;
}
