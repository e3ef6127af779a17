import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamicBatcher } from '../../../gpu-service/src/batcher/dynamic-batcher.js';
import { TenantQueues } from '../../../gpu-service/src/batcher/fair-order.js';

interface Item {
  tenant: string;
  rows: number;
  name: string;
}

const names = (items: Item[]) => items.map((item) => item.name);

describe('TenantQueues (deficit round-robin across tenants)', () => {
  it('takes the light tenant\'s request in the first batch although the heavy tenant queued first', () => {
    const queues = new TenantQueues<Item>(8);
    for (let i = 0; i < 8; i++) queues.push({ tenant: 'heavy', rows: 16, name: `h${i}` });
    queues.push({ tenant: 'light', rows: 1, name: 'l0' });
    // a 16-row request travels alone, but only after a light request had its turn
    const order: string[][] = [];
    for (let i = 0; i < 3; i++) order.push(names(queues.take(8)));
    expect(order.flat().indexOf('l0')).toBeLessThanOrEqual(1);
    expect(order.flat()).toContain('h0');
  });

  it('shares rows per round equally: 1-row requests of two tenants alternate', () => {
    const queues = new TenantQueues<Item>(2);
    for (let i = 0; i < 4; i++) queues.push({ tenant: 'a', rows: 1, name: `a${i}` });
    for (let i = 0; i < 4; i++) queues.push({ tenant: 'b', rows: 1, name: `b${i}` });
    expect(names(queues.take(4))).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(names(queues.take(4))).toEqual(['a2', 'a3', 'b2', 'b3']);
    expect(queues.take(4)).toEqual([]);
  });

  it('keeps FIFO order within a tenant and removes a dropped request wherever it waits', () => {
    const queues = new TenantQueues<Item>(8);
    const items = ['x', 'y', 'z'].map((name) => ({ tenant: 't', rows: 1, name }));
    for (const item of items) queues.push(item);
    expect(queues.remove(items[1])).toBe(true);
    expect(queues.remove(items[1])).toBe(false);
    expect(names(queues.take(8))).toEqual(['x', 'z']);
  });

  it('lets a request larger than the batch leave alone once its deficit has grown', () => {
    const queues = new TenantQueues<Item>(4);
    queues.push({ tenant: 'big', rows: 10, name: 'big' });
    expect(names(queues.take(4))).toEqual(['big']);
  });

  it('gives a heavy tenant with 8 x 16 rows about the rows of a light tenant with 1-row requests per round', () => {
    const queues = new TenantQueues<Item>(8);
    for (let i = 0; i < 8; i++) queues.push({ tenant: 'heavy', rows: 16, name: `h${i}` });
    for (let i = 0; i < 32; i++) queues.push({ tenant: 'light', rows: 1, name: `l${i}` });
    const taken: Item[] = [];
    for (let batch = 0; batch < 12; batch++) taken.push(...queues.take(8));
    // while both had work queued (up to the last light request), rows were shared evenly
    const shared = taken.slice(0, names(taken).indexOf('l31') + 1);
    const rows = (tenant: string) => shared.filter((item) => item.tenant === tenant).reduce((sum, item) => sum + item.rows, 0);
    expect(rows('light')).toBe(32); // every light request ran within 12 batches
    expect(Math.abs(rows('heavy') - rows('light'))).toBeLessThanOrEqual(16);
  });
});

describe('DynamicBatcher fair order', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('serves another tenant\'s request before the rest of one tenant\'s backlog', async () => {
    const batcher = new DynamicBatcher<string, void>({ maxBatch: 4, maxQueueDelayMs: 0, maxQueueSize: 100 });
    for (let i = 0; i < 6; i++) void batcher.append(`heavy${i}`, 4, undefined, 'key_heavy');
    void batcher.append('light', 1, undefined, 'key_light');
    const order: string[] = [];
    for (let i = 0; i < 3; i++) order.push(...(await batcher.nextBatch())!.map((request) => request.payload));
    expect(order.indexOf('light')).toBeLessThanOrEqual(1);
    expect(batcher.depth).toBe(7 - order.length);
  });
});
