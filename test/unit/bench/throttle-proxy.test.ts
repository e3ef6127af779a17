/**
 * The emulated phone link (test/helpers/throttle-proxy.ts) keeps its rates: bytes through it at a
 * small rate take bytes / rate (+ half the RTT) within 15 %, each way, and a small exchange takes
 * the added round trip. Bounded: about 5 s in all.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrottleProxy, type ThrottleProxy } from '../../helpers/throttle-proxy.js';

const UP_MBIT = 1;
const DOWN_MBIT = 2;
const RTT_MS = 100;

let target: Server;
let proxy: ThrottleProxy;
/** What the target does with a connection, set per test. */
let onConnection: (socket: Socket) => void = () => {};

beforeAll(async () => {
  target = createServer((socket) => onConnection(socket));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  proxy = await startThrottleProxy({ targetPort: (target.address() as AddressInfo).port, upMbit: UP_MBIT, downMbit: DOWN_MBIT, rttMs: RTT_MS });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((resolve) => target?.close(resolve));
});

function connect(): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: proxy.port }, () => resolve(socket));
  });
}

/** Expected transfer time in ms for `bytes` at `mbit`, plus one way of the RTT. */
const expectedMs = (bytes: number, mbit: number) => (bytes * 8) / (mbit * 1000) + RTT_MS / 2;

describe('throttle proxy', () => {
  it(`uplink: 250 kB at ${UP_MBIT} Mbit/s arrive in bytes / rate within 15 %`, async () => {
    const size = 250_000;
    const arrived = new Promise<number>((resolve) => {
      onConnection = (socket) => {
        let received = 0;
        socket.on('data', (chunk) => {
          received += chunk.length;
          if (received >= size) resolve(performance.now());
        });
      };
    });
    const client = await connect();
    const before = proxy.bytes.up;
    const started = performance.now();
    client.write(Buffer.alloc(size, 1));
    const elapsed = (await arrived) - started;
    client.destroy();
    expect(proxy.bytes.up - before).toBe(size);
    expect(elapsed / expectedMs(size, UP_MBIT)).toBeGreaterThan(0.85);
    expect(elapsed / expectedMs(size, UP_MBIT)).toBeLessThan(1.15);
  });

  it(`downlink: 500 kB at ${DOWN_MBIT} Mbit/s arrive in bytes / rate within 15 %`, async () => {
    const size = 500_000;
    onConnection = (socket) => socket.once('data', () => socket.write(Buffer.alloc(size, 2)));
    const client = await connect();
    let received = 0;
    const done = new Promise<number>((resolve) =>
      client.on('data', (chunk) => {
        received += chunk.length;
        if (received >= size) resolve(performance.now());
      }),
    );
    client.write('go');
    // The request goes up first (one way); from when the server sends, the download takes bytes / rate + one way.
    const started = performance.now() + RTT_MS / 2;
    const elapsed = (await done) - started;
    client.destroy();
    expect(elapsed / expectedMs(size, DOWN_MBIT)).toBeGreaterThan(0.85);
    expect(elapsed / expectedMs(size, DOWN_MBIT)).toBeLessThan(1.15);
  });

  it(`a one-byte ping-pong takes the added round trip (${RTT_MS} ms) within 15 %`, async () => {
    onConnection = (socket) => socket.on('data', (chunk) => socket.write(chunk));
    const client = await connect();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const echoed = new Promise((resolve) => client.once('data', resolve));
      client.write('x');
      await echoed;
      times.push(performance.now() - started);
    }
    client.destroy();
    const median = times.sort((a, b) => a - b)[2]!;
    expect(median / RTT_MS).toBeGreaterThan(0.85);
    expect(median / RTT_MS).toBeLessThan(1.15);
  });
});
