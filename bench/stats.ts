/** Order statistics shared by the benchmarks. */

/** The p-th percentile (0..100) of ascending `sorted`, nearest rank below; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The median of `values` in any order (the upper one of an even count). */
export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
