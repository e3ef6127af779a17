/**
 * Circuit breaker in front of the GPU tier. State is per isolate (one instance per Worker
 * isolate, created in the composition root), not in a Durable Object: a DO would add a round
 * trip to every miss and make one object a global hot spot.
 *
 * What counts (the rule, also in functions/README.md):
 * - A service failure: a connection error or a 5xx (503 included) from every backend tried, or
 *   a 5xx answer other than the service's own 504 `timeout`. `failures` of them in a row open it.
 * - Not a failure: any answer that shows the service works, however unwelcome: 2xx, 4xx, 429
 *   `overloaded`, and 504 `timeout` (the request's own deadline passed at the service: a heavy or
 *   queued request, not a broken tier). These reset the count.
 * - An edge-side timeout (the service did not answer before the edge's abort) is ambiguous: one
 *   tenant's heavy request, or a frozen service. It is settled by a probe of the backend's
 *   `/readyz` with a short timeout: an answer leaves the breaker alone (the request was slow);
 *   no answer or not ready means the service is frozen, and the breaker opens at once. So a frozen
 *   service is detected within one GPU timeout plus one probe timeout, not three timeouts.
 * - Open: requests are answered 503 + Retry-After at once. After the cooldown the next request
 *   probes `/readyz` first (half-open; one probe at a time, others still get 503): ready closes
 *   it and that request goes on; not ready opens it for another cooldown.
 */
import { ApiError } from '../../../contract/errors.js';

export interface BreakerOptions {
  failures: number;
  cooldownMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What the breaker knows, read-only (for `/healthz`). */
export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  failuresToOpen: number;
  /** Epoch ms until which it answers 503 at once; null when closed. */
  openUntilMs: number | null;
}

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private isOpen = false;
  private openUntilMs = 0;
  private probeInFlight = false;

  constructor(private readonly options: BreakerOptions) {}

  state(nowMs: number = Date.now()): BreakerState {
    if (!this.isOpen) return 'closed';
    return nowMs < this.openUntilMs ? 'open' : 'half-open';
  }

  snapshot(nowMs: number = Date.now()): BreakerSnapshot {
    const state = this.state(nowMs);
    return { state, consecutiveFailures: this.consecutiveFailures, failuresToOpen: this.options.failures, openUntilMs: state === 'closed' ? null : this.openUntilMs };
  }

  /**
   * 'pass' when closed; 'probe' when half-open and this caller must probe `/readyz` and report
   * it (probed); throws 503 `unavailable` while open or while another caller probes.
   */
  admit(nowMs: number = Date.now()): 'pass' | 'probe' {
    const state = this.state(nowMs);
    if (state === 'closed') return 'pass';
    if (state === 'half-open' && !this.probeInFlight) {
      this.probeInFlight = true;
      return 'probe';
    }
    throw this.unavailable(nowMs);
  }

  /** The half-open probe's outcome. */
  probed(ready: boolean, nowMs: number = Date.now()): void {
    this.probeInFlight = false;
    if (ready) this.succeeded();
    else this.open(nowMs);
  }

  /** An answer that shows the service works (see the rule above). */
  succeeded(): void {
    this.consecutiveFailures = 0;
    this.isOpen = false;
    this.probeInFlight = false;
  }

  /** A connection error or 5xx. */
  failed(nowMs: number = Date.now()): void {
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures >= this.options.failures) this.open(nowMs);
  }

  /** A request timed out at the edge and the backend's /readyz did not answer: frozen. */
  frozen(nowMs: number = Date.now()): void {
    this.open(nowMs);
  }

  unavailable(nowMs: number = Date.now()): ApiError {
    return new ApiError('unavailable', 'The GPU tier is unavailable; try again later.', this.retryAfterSeconds(nowMs));
  }

  retryAfterSeconds(nowMs: number = Date.now()): number {
    return Math.max(1, (this.openUntilMs - nowMs) / 1000);
  }

  private open(nowMs: number): void {
    this.isOpen = true;
    this.consecutiveFailures = Math.max(this.consecutiveFailures, this.options.failures);
    this.openUntilMs = nowMs + this.options.cooldownMs;
  }
}
