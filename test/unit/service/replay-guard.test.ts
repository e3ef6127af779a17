import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.js';
import { SIGNATURE_WINDOW_SECONDS } from '../../../contract/hmac.js';
import { ReplayGuard } from '../../../gpu-service/src/server/replay-guard.js';

const code = (run: () => void) => {
  try {
    run();
    return null;
  } catch (error) {
    return error instanceof ApiError ? error.code : String(error);
  }
};

describe('ReplayGuard', () => {
  it('accepts an id once while its signature is valid, then forgets it', () => {
    let now = 1_000;
    const guard = new ReplayGuard({ maxEntries: 10, nowSeconds: () => now });
    expect(code(() => guard.admit('a', now))).toBeNull();
    expect(code(() => guard.admit('a', now))).toBe('replayed_request');
    now += SIGNATURE_WINDOW_SECONDS; // still inside the window
    expect(code(() => guard.admit('a', 1_000))).toBe('replayed_request');
    now += 1; // 'a' can no longer verify: evicted on the next admit
    expect(code(() => guard.admit('b', now))).toBeNull();
    expect(guard.size).toBe(1);
  });

  it('stays bounded: refuses (503) instead of forgetting an unexpired id early', () => {
    let now = 5_000;
    const guard = new ReplayGuard({ maxEntries: 3, nowSeconds: () => now });
    for (const id of ['a', 'b', 'c']) guard.admit(id, now);
    expect(code(() => guard.admit('d', now))).toBe('unavailable');
    expect(code(() => guard.admit('a', now))).toBe('replayed_request');
    now += SIGNATURE_WINDOW_SECONDS + 1;
    expect(code(() => guard.admit('d', now))).toBeNull();
    expect(guard.size).toBe(1);
  });
});
