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

/** The first day of `ms`'s month. */
export function monthStart(ms: number): string {
  return `${monthOf(ms)}-01`;
}
