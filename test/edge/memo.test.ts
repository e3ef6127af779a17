import { describe, expect, it } from 'vitest';
import { KeyLookupCache } from '../../functions/src/auth/key-cache.js';
import { ResultMemo } from '../../functions/src/cache/result-memo.js';
import { CircuitBreaker } from '../../functions/src/forward/breaker.js';
import type { SegmentResult } from '../../contract/segment.js';

const result = (id: string): SegmentResult => ({ id, model: 'm@1', width: 1, height: 1, results: [], cached: false, timing: { total_ms: 1 } });

describe('per-isolate state holders', () => {
  it('ResultMemo evicts the least recently used entry by count and by bytes', () => {
    const memo = new ResultMemo(2, 1000);
    memo.set(result('a'), 100);
    memo.set(result('b'), 100);
    expect(memo.get('a')?.id).toBe('a'); // a is now the most recent
    memo.set(result('c'), 100);
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('a')?.id).toBe('a');
    const bytes = new ResultMemo(10, 1000);
    for (const id of ['x', 'y', 'z']) bytes.set(result(id), 240);
    bytes.set(result('w'), 240); // 960 bytes: all fit
    bytes.set(result('v'), 240); // 1200 > 1000: x goes
    expect(bytes.get('x')).toBeUndefined();
    expect(bytes.get('v')?.id).toBe('v');
    bytes.set(result('huge'), 600); // over a quarter of the budget: not kept
    expect(bytes.get('huge')).toBeUndefined();
  });

  it('KeyLookupCache forgets entries after their TTL', () => {
    const memo = new KeyLookupCache(5000, 10);
    memo.set('h', { keyId: 'key_a' }, 1000);
    expect(memo.get('h', 5999)?.record).toEqual({ keyId: 'key_a' });
    expect(memo.get('h', 6000)).toBeUndefined();
  });

  it('CircuitBreaker: closed -> open after N failures -> half-open lets one trial through', () => {
    const breaker = new CircuitBreaker({ failures: 2, cooldownMs: 1000 });
    breaker.failed(0);
    expect(breaker.state(0)).toBe('closed');
    breaker.failed(10);
    expect(breaker.state(10)).toBe('open');
    expect(() => breaker.admit(500)).toThrow(/unavailable/);
    expect(breaker.state(1010)).toBe('half-open');
    expect(() => breaker.admit(1010)).not.toThrow();
    expect(() => breaker.admit(1011)).toThrow(); // only one trial
    breaker.succeeded();
    expect(breaker.state(1012)).toBe('closed');
  });
});
