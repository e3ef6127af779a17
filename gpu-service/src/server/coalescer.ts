/**
 * Identical concurrent misses run one computation: the first request for a key leads (runs it),
 * the others follow (wait for the leader's outcome and answer it, marked coalesced, so the edge
 * books them as cached, not billed). A follower still has its own deadline and client; when
 * the leader gives up (its deadline passed or its client left) a follower still waiting
 * computes in its place. The key is the tenant with the result key: tenants never share work.
 */
import { abortReason } from '../pipeline/deadline.js';

export interface Coalesced<T> {
  value: T;
  /** True when another request computed it. */
  coalesced: boolean;
}

interface Leader<T> {
  running: Promise<T>;
  signal?: AbortSignal;
}

export class Coalescer<T> {
  private readonly inFlight = new Map<string, Leader<T>>();
  /** Requests answered with another request's computation (metrics). */
  followed = 0;

  get size(): number {
    return this.inFlight.size;
  }

  async run(key: string, signal: AbortSignal | undefined, compute: () => Promise<T>): Promise<Coalesced<T>> {
    for (;;) {
      const leader = this.inFlight.get(key);
      if (!leader) return { value: await this.lead(key, signal, compute), coalesced: false };
      try {
        const value = await untilAborted(leader.running, signal);
        this.followed++;
        return { value, coalesced: true };
      } catch (error) {
        if (signal?.aborted) throw error;
        if (!leader.signal?.aborted) throw error; // the computation itself failed (bad image...): same answer
        // the leader gave up: take over unless another follower already did
      }
    }
  }

  private lead(key: string, signal: AbortSignal | undefined, compute: () => Promise<T>): Promise<T> {
    const running = compute();
    this.inFlight.set(key, { running, signal });
    const forget = () => {
      if (this.inFlight.get(key)?.running === running) this.inFlight.delete(key);
    };
    running.then(forget, forget);
    return running;
  }
}

/** `promise`, or the signal's reason as soon as it fires. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
