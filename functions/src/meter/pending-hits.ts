/**
 * Cache hits answered by this isolate and not yet booked in their key's KeyMeter. A hit does not
 * cost a Durable Object call of its own: its count rides on the key's next call from this isolate
 * (the rate-limit token of the next request, or a usage read), and a flush books whatever is
 * left after `carryMs` (run under waitUntil, so the request stays alive until its hit is booked).
 * Owned by the composition root, one per app instance.
 */

/** Hits of one key on one UTC day. */
export interface HitCount {
  day: string;
  requests: number;
  /** Phrases answered from the cache. */
  cached: number;
}

/** The KeyMeter method a flush calls (structural: this module does not import the object). */
export interface HitBooker {
  bookHits(hits: HitCount[]): Promise<unknown>;
}

export class PendingHits {
  private readonly byKey = new Map<string, Map<string, HitCount>>();
  /** Keys whose flush (flushLater) is running. */
  private readonly flushing = new Set<string>();

  constructor(readonly carryMs: number) {}

  /** Counts one hit; true when the caller must start the key's flush (flushLater). */
  add(keyId: string, day: string, cached: number): boolean {
    let days = this.byKey.get(keyId);
    if (!days) this.byKey.set(keyId, (days = new Map()));
    const sum = days.get(day) ?? { day, requests: 0, cached: 0 };
    days.set(day, { day, requests: sum.requests + 1, cached: sum.cached + cached });
    if (this.flushing.has(keyId)) return false;
    this.flushing.add(keyId);
    return true;
  }

  /**
   * The key's pending hits, removed: the caller books them in its next call to the KeyMeter. As
   * with every booking call, a failed call is not repeated (a hit is counted at most once).
   */
  take(keyId: string): HitCount[] {
    const days = this.byKey.get(keyId);
    if (!days) return [];
    this.byKey.delete(keyId);
    return [...days.values()];
  }

  /** The key's flush, for waitUntil: every carryMs, books what no call has carried, until none is left. */
  async flushLater(keyId: string, meter: HitBooker): Promise<void> {
    try {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, this.carryMs));
        const hits = this.take(keyId);
        if (hits.length === 0) return;
        await meter.bookHits(hits).catch((error: Error) => console.warn('booking cache hits failed', keyId, error.message));
      }
    } finally {
      this.flushing.delete(keyId);
    }
  }
}
