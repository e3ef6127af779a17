/**
 * A short-lived, bounded, per-isolate memo of KV key lookups (hash -> checked record), so a hot
 * key does not pay a KV read and a schema check on every request. Revocation reaches an isolate
 * within `ttlMs` (KV itself propagates in up to 60 s). Owned by the composition root, one per app
 * instance.
 */
import type { KeyRecord } from './key-record.js';

export class KeyLookupCache {
  private readonly entries = new Map<string, { record: KeyRecord; expiresAtMs: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(hash: string, nowMs: number = Date.now()): { record: KeyRecord } | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.entries.delete(hash);
      return undefined;
    }
    return { record: entry.record };
  }

  set(hash: string, record: KeyRecord, nowMs: number = Date.now()): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { record, expiresAtMs: nowMs + this.ttlMs });
  }
}
