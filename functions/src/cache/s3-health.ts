/**
 * Per-isolate memory that S3 lookups are failing: after a lookup timed out or could not connect,
 * the next ones are skipped for `skipMs` (a miss computes at once instead of waiting for a stalled
 * store; `GET /v1/results/{id}` answers 503 with Retry-After). Owned by the composition root.
 */
export class S3Health {
  private skipUntilMs = 0;

  constructor(private readonly skipMs: number) {}

  /** Milliseconds lookups are still skipped for (0: ask S3). */
  skippingForMs(nowMs: number = Date.now()): number {
    return Math.max(0, this.skipUntilMs - nowMs);
  }

  failed(nowMs: number = Date.now()): void {
    this.skipUntilMs = nowMs + this.skipMs;
  }
}
