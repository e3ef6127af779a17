/**
 * The service's lifecycle as probes see it:
 *   starting  loading the bundle / warming up (readyz 503)
 *   ready     warmed up, queue below the busy mark (readyz 200)
 *   busy      warmed up, but the queue is at least `busyQueueDepth` deep, or draining for
 *             shutdown (readyz 200 while busy, 503 while draining)
 *   failed    start-up or a worker failed (readyz 503; liveness still answers 200 with the state
 *             in the body, the orchestrator restarts on its own policy)
 */
export type HealthState = 'starting' | 'ready' | 'busy' | 'failed';

export interface StateProbes {
  queueDepth(): number;
  /** Set when the inference backend has died. */
  backendFailure(): string | undefined;
  busyQueueDepth: number;
}

export class ServiceState {
  private phase: 'starting' | 'ready' | 'draining' | 'failed' = 'starting';
  private failureReason: string | undefined;
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly probes: StateProbes) {}

  markReady(): void {
    if (this.phase === 'starting') this.phase = 'ready';
  }

  markFailed(reason: string): void {
    this.phase = 'failed';
    this.failureReason = reason;
  }

  markDraining(): void {
    if (this.phase !== 'failed') this.phase = 'draining';
  }

  /** A segment request was accepted: shutdown waits for it to be answered. */
  enter(): void {
    this.active++;
  }

  leave(): void {
    this.active--;
    if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Accepted segment requests not yet answered. */
  get activeRequests(): number {
    return this.active;
  }

  /** Resolves once no accepted request is left. */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get draining(): boolean {
    return this.phase === 'draining';
  }

  get failure(): string | undefined {
    return this.failureReason ?? this.probes.backendFailure();
  }

  health(): HealthState {
    if (this.phase === 'failed' || this.probes.backendFailure()) return 'failed';
    if (this.phase === 'starting') return 'starting';
    if (this.phase === 'draining' || this.probes.queueDepth() >= this.probes.busyQueueDepth) return 'busy';
    return 'ready';
  }

  /** Whether a load balancer should send traffic here. */
  ready(): boolean {
    const health = this.health();
    return (health === 'ready' || health === 'busy') && this.phase !== 'draining';
  }
}
