/**
 * The GPU tier's last answer as this isolate saw it (per isolate, like the circuit breaker), and
 * the edge's health built from both: `ok` while the breaker is closed, counts no failure in a
 * row and the last answer was not a failure (5xx, timeout, unreachable), `degraded` otherwise
 * (a 401 from the service, e.g. a wrong HMAC secret, counts as a breaker failure). Degraded is
 * answered 200: the edge still serves cached results, usage and models; monitors read `status`.
 */
import type { BreakerSnapshot, CircuitBreaker } from './breaker.js';

/** An HTTP status, or how a call got no answer. */
export type GpuAnswer = number | 'timeout' | 'unreachable';

export interface EdgeHealth {
  status: 'ok' | 'degraded';
  breaker: { state: BreakerSnapshot['state']; consecutive_failures: number; failures_to_open: number; open_until: string | null };
  gpu: { last_status: GpuAnswer | null; last_at: string | null };
}

export const isFailedAnswer = (answer: GpuAnswer): boolean => typeof answer !== 'number' || answer >= 500;

export class GpuTierHealth {
  private last: { answer: GpuAnswer; atMs: number } | null = null;

  record(answer: GpuAnswer, atMs: number = Date.now()): void {
    this.last = { answer, atMs };
  }

  report(breaker: CircuitBreaker, nowMs: number = Date.now()): EdgeHealth {
    const snapshot = breaker.snapshot(nowMs);
    const lastFailed = this.last !== null && isFailedAnswer(this.last.answer);
    return {
      status: snapshot.state === 'closed' && snapshot.consecutiveFailures === 0 && !lastFailed ? 'ok' : 'degraded',
      breaker: {
        state: snapshot.state,
        consecutive_failures: snapshot.consecutiveFailures,
        failures_to_open: snapshot.failuresToOpen,
        open_until: snapshot.openUntilMs === null ? null : new Date(snapshot.openUntilMs).toISOString(),
      },
      gpu: { last_status: this.last?.answer ?? null, last_at: this.last ? new Date(this.last.atMs).toISOString() : null },
    };
  }
}
