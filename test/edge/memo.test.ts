import { describe, expect, it } from 'vitest';
import { KeyLookupCache } from '../../functions/src/auth/key-cache.js';
import { ResultMemo } from '../../functions/src/cache/result-memo.js';
import { CircuitBreaker } from '../../functions/src/forward/breaker.js';
import { PendingHits, type HitCount } from '../../functions/src/meter/pending-hits.js';
import type { SegmentResult } from '../../contract/segment.js';

const result = (id: string): SegmentResult => ({ id, image_id: 'f'.repeat(64), model: 'm@1', width: 1, height: 1, results: [], cached: false, timing: { total_ms: 1 } });

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
    const record = { keyId: 'key_a', plan: 'free', limits: { ratePerSecond: 2, burst: 10, monthlyQuota: 1000 }, disabled: false };
    memo.set('h', record, 1000);
    expect(memo.get('h', 5999)?.record).toEqual(record);
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

  it('PendingHits: hits merge per key and day; a taken batch is gone; one flush runs per key at a time', async () => {
    const pending = new PendingHits(20);
    expect(pending.add('key_a', '2026-11-27', 2)).toBe(true); // starts the flush
    expect(pending.add('key_a', '2026-11-27', 3)).toBe(false);
    expect(pending.add('key_a', '2026-11-28', 1)).toBe(false);
    expect(pending.add('key_b', '2026-11-27', 1)).toBe(true);
    expect(pending.take('key_a')).toEqual([
      { day: '2026-11-27', requests: 2, cached: 5 },
      { day: '2026-11-28', requests: 1, cached: 1 },
    ]);
    expect(pending.take('key_a')).toEqual([]);

    const booked: HitCount[][] = [];
    const booker = { bookHits: async (hits: HitCount[]) => void booked.push(hits) };
    // key_a's hits were carried by a "request" (take above): its flush finds nothing and ends.
    await pending.flushLater('key_a', booker);
    expect(booked).toEqual([]);
    // key_b's hit was not carried: the flush books it, plus one that arrives while it waits.
    const flushB = pending.flushLater('key_b', booker);
    expect(pending.add('key_b', '2026-11-27', 4)).toBe(false);
    await flushB;
    expect(booked).toEqual([[{ day: '2026-11-27', requests: 2, cached: 5 }]]);
    expect(pending.add('key_b', '2026-11-27', 1)).toBe(true); // the flush ended: the next hit starts another
  });

  it('PendingHits: a failed booking call is not repeated (a hit counts at most once) and the flush ends', async () => {
    const pending = new PendingHits(5);
    pending.add('key_c', '2026-11-27', 1);
    let calls = 0;
    await pending.flushLater('key_c', { bookHits: async () => { calls += 1; throw new Error('object reset'); } });
    expect(calls).toBe(1);
    expect(pending.take('key_c')).toEqual([]);
    expect(pending.add('key_c', '2026-11-27', 1)).toBe(true);
  });
});
