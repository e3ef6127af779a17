import { describe, expect, it } from 'vitest';
import { ArrayPool, MIN_POOLED_BYTES } from '../../../gpu-service/src/core/array-pool.js';

const LIMITS = { maxBytes: 1 << 20, maxArrayBytes: 1 << 18 };

describe('ArrayPool (a thread’s scratch arrays)', () => {
  it('hands a given-back buffer to the next taker, as a view of the length asked for', () => {
    const pool = new ArrayPool(LIMITS);
    const first = pool.float32(3000); // 12 000 bytes: the 16 KiB class
    pool.give(first);
    const second = pool.uint8(15_000); // same class, another type and length
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(15_000);
    expect(second.byteOffset).toBe(0);
    expect(pool.reused).toBe(1);
    expect(pool.allocated).toBe(1);
  });

  it('never hands one buffer to two takers at once', () => {
    const pool = new ArrayPool(LIMITS);
    const a = pool.float64(1000);
    const b = pool.float64(1000);
    expect(b.buffer).not.toBe(a.buffer);
    pool.give(a);
    const c = pool.float64(1000);
    expect(c.buffer).toBe(a.buffer);
    expect(pool.float64(1000).buffer).not.toBe(c.buffer); // c is lent: a fresh one
  });

  it('takes back only the very array it handed out: a stale view, a double give and foreign arrays are ignored', () => {
    const pool = new ArrayPool(LIMITS);
    const a = pool.float32(2000);
    pool.give(a);
    const b = pool.float32(2000); // a's buffer, lent again
    pool.give(a); // stale: must not free b's buffer
    expect(pool.float32(2000).buffer).not.toBe(b.buffer);
    pool.give(b);
    pool.give(b); // twice: kept once
    expect(pool.bytes).toBe(8192);
    pool.give(new Float32Array(4096)); // not the pool's
    pool.give(new Float32Array(b.buffer as ArrayBuffer, 0, 10)); // another view of a kept buffer
    pool.give(null);
    expect(pool.bytes).toBe(8192);
  });

  it('zeroes a reused array when asked, and poisons what is given back', () => {
    const pool = new ArrayPool({ ...LIMITS, poison: true });
    const a = pool.uint8(5000);
    a.fill(7);
    pool.give(a);
    expect(a[0]).toBe(0xff); // a read after give sees garbage
    const b = pool.uint8(5000, true);
    expect(b.buffer).toBe(a.buffer);
    expect(b.every((v) => v === 0)).toBe(true);
    pool.give(b);
    const f = pool.float32(1500);
    expect(Number.isNaN(f[0])).toBe(true); // poisoned floats are NaN
  });

  it('keeps at most maxBytes of free buffers, and neither small nor huge arrays', () => {
    const pool = new ArrayPool({ maxBytes: 64 * 1024, maxArrayBytes: 32 * 1024 });
    const small = pool.uint8(MIN_POOLED_BYTES - 1);
    const huge = pool.uint8(40 * 1024);
    pool.give(small);
    pool.give(huge);
    expect(pool.bytes).toBe(0);
    const arrays = Array.from({ length: 5 }, () => pool.uint8(32 * 1024));
    for (const array of arrays) pool.give(array);
    expect(pool.bytes).toBe(64 * 1024); // two of the five kept
  });
});
