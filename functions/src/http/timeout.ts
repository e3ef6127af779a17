/**
 * Timeouts for the edge's outbound calls that take no AbortSignal (KV reads, Durable Object
 * calls): the caller stops waiting after `ms` and gets the error `onTimeout` makes (the call
 * itself may still finish in the background; nothing waits for it).
 */
import { ApiError } from '../../../contract/errors.js';

/** Retry-After for a dependency that timed out once (s). */
export const RETRY_AFTER_TIMEOUT_S = 2;

export function timeoutError(what: string, ms: number): ApiError {
  return new ApiError('timeout', `${what} did not answer within ${ms} ms; try again.`, RETRY_AFTER_TIMEOUT_S);
}

export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(what, ms)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * `target` with every method's answer under `withTimeout` (for a Durable Object stub: each RPC
 * call). `then` is not wrapped, so the wrapper is not mistaken for a promise.
 */
export function timedMethods<T extends object>(target: T, ms: number, what: string): T {
  return new Proxy(target, {
    get(object, name) {
      const value = Reflect.get(object, name);
      if (typeof value !== 'function' || name === 'then') return value;
      // Called as a method of the target: an RPC stub's function must not be asked for `.apply`
      // (a property of a stub is a remote call).
      const method = object as Record<PropertyKey, (...args: unknown[]) => unknown>;
      return (...args: unknown[]) => withTimeout(Promise.resolve(method[name](...args)), ms, what);
    },
  });
}
