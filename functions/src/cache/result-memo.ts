/**
 * A bounded, per-isolate LRU of recent results in front of the Cache API. Results are immutable
 * by key, so there is nothing to invalidate; the bound (entries and approximate bytes) keeps the
 * isolate's memory small. Owned by the composition root, one per app instance.
 */
import type { SegmentResult } from '../../../contract/segment.js';

export class ResultMemo {
  private readonly entries = new Map<string, { result: SegmentResult; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(id: string): SegmentResult | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id); // most recently used goes last
    this.entries.set(id, entry);
    return entry.result;
  }

  /** `bytes`: the result's JSON length (the caller has it at hand). */
  set(result: SegmentResult, bytes: number): void {
    if (bytes > this.maxBytes / 4) return; // one huge result must not flush the rest
    const previous = this.entries.get(result.id);
    if (previous) {
      this.entries.delete(result.id);
      this.bytes -= previous.bytes;
    }
    this.entries.set(result.id, { result, bytes });
    this.bytes += bytes;
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= entry.bytes;
    }
  }
}
