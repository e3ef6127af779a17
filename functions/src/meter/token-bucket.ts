/** A token bucket (rate per second, burst), full on first use; in memory of its KeyMeter. */
import type { KeyLimits } from '../auth/key-record.js';

export class TokenBucket {
  private tokens = Number.NaN;
  private refilledAtMs = 0;

  /** Takes one token; otherwise the seconds until one is there. */
  take(limits: KeyLimits, nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.refill(limits, nowMs);
    if (this.tokens < 1) return { ok: false, retryAfterSeconds: (1 - this.tokens) / limits.ratePerSecond };
    this.tokens -= 1;
    return { ok: true };
  }

  private refill(limits: KeyLimits, nowMs: number): void {
    if (Number.isNaN(this.tokens)) {
      this.tokens = limits.burst;
      this.refilledAtMs = nowMs;
      return;
    }
    const elapsedSeconds = Math.max(0, nowMs - this.refilledAtMs) / 1000;
    this.tokens = Math.min(limits.burst, this.tokens + elapsedSeconds * limits.ratePerSecond);
    this.refilledAtMs = nowMs;
  }
}
