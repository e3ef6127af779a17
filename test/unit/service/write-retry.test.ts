import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteRetryQueue } from '../../../gpu-service/src/storage/write-retry.js';

describe('WriteRetryQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries a failed write with doubling delays until it lands', async () => {
    const queue = new WriteRetryQueue({ maxEntries: 4, maxAttempts: 5, baseDelayMs: 100 });
    const attempts: number[] = [];
    queue.enqueue(async () => {
      attempts.push(Date.now());
      return attempts.length === 3;
    });
    expect(queue.depth).toBe(1);
    await vi.advanceTimersByTimeAsync(100 + 200 + 400);
    expect(attempts).toHaveLength(3);
    expect(attempts[1] - attempts[0]).toBe(200);
    expect(attempts[2] - attempts[1]).toBe(400);
    expect(queue.depth).toBe(0);
    expect(queue.dropped).toBe(0);
  });

  it('is bounded: drops when full and after maxAttempts, and counts the drops', async () => {
    let drops = 0;
    const queue = new WriteRetryQueue({ maxEntries: 1, maxAttempts: 2, baseDelayMs: 10, onDrop: () => drops++ });
    expect(queue.enqueue(async () => false)).toBe(true);
    expect(queue.enqueue(async () => true)).toBe(false);
    await vi.advanceTimersByTimeAsync(10 + 20);
    expect(queue.depth).toBe(0);
    expect(drops).toBe(2);
  });
});
