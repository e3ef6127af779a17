/**
 * Circuit breaker in front of the GPU tier. State is per isolate (one instance per Worker
 * isolate, created in the composition root), not in a Durable Object: a DO would add a round
 * trip to every miss and make one object a global hot spot, while an isolate that sees the GPU
 * tier fail learns it after `failures` requests anyway. Closed -> (failures in a row) -> open:
 * requests are answered 503 + Retry-After at once -> after the cooldown one trial request is let
 * through (half-open): success closes it, failure opens it again.
 */
import { ApiError } from '../../../contract/errors.js';

export interface BreakerOptions {
  failures: number;
  cooldownMs: number;
}

/** What the breaker knows, read-only (for `/healthz`). */
export interface BreakerSnapshot {
  state: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  failuresToOpen: number;
  /** Epoch ms until which it answers 503 at once; null when closed. */
  openUntilMs: number | null;
}

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openUntilMs = 0;
  private trialInFlight = false;

  constructor(private readonly options: BreakerOptions) {}

  state(nowMs: number = Date.now()): 'closed' | 'open' | 'half-open' {
    if (this.consecutiveFailures < this.options.failures) return 'closed';
    return nowMs < this.openUntilMs ? 'open' : 'half-open';
  }

  snapshot(nowMs: number = Date.now()): BreakerSnapshot {
    const state = this.state(nowMs);
    return { state, consecutiveFailures: this.consecutiveFailures, failuresToOpen: this.options.failures, openUntilMs: state === 'closed' ? null : this.openUntilMs };
  }

  /** Throws 503 `unavailable` while open; lets one trial through when half-open. */
  admit(nowMs: number = Date.now()): void {
    const state = this.state(nowMs);
    if (state === 'closed') return;
    if (state === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return;
    }
    const waitMs = Math.max(1000, this.openUntilMs - nowMs);
    throw new ApiError('unavailable', 'The GPU tier is unavailable; try again later.', waitMs / 1000);
  }

  succeeded(): void {
    this.consecutiveFailures = 0;
    this.trialInFlight = false;
  }

  failed(nowMs: number = Date.now()): void {
    this.consecutiveFailures += 1;
    this.trialInFlight = false;
    if (this.consecutiveFailures >= this.options.failures) this.openUntilMs = nowMs + this.options.cooldownMs;
  }

  retryAfterSeconds(nowMs: number = Date.now()): number {
    return Math.max(1, (this.openUntilMs - nowMs) / 1000);
  }
}
