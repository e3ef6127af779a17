/**
 * An emulated phone link on loopback (this kernel has no `tc netem`): a TCP proxy that forwards
 * 127.0.0.1:listenPort -> 127.0.0.1:targetPort with a bandwidth per direction and half the added
 * round-trip time on each way. All connections share the link, as they share a phone's radio:
 * each chunk leaves when the link is free and takes bytes / rate to go through, then arrives
 * `rttMs / 2` later. It counts the bytes each way.
 *
 *   const link = await startThrottleProxy({ targetPort: 8787, upMbit: 10, downMbit: 40, rttMs: 60 });
 *   fetch(`http://127.0.0.1:${link.port}/v1/segment`, ...); link.bytes.up; await link.close();
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface LinkOptions {
  targetPort: number;
  /** Uplink (client -> server) and downlink rates in Mbit/s (10^6 bits). */
  upMbit: number;
  downMbit: number;
  /** Round-trip time added, split evenly between the two ways. */
  rttMs: number;
  /** Port to listen on (0: any free one). */
  listenPort?: number;
}

export interface ThrottleProxy {
  port: number;
  /** Bytes carried so far: client -> server (up) and server -> client (down). */
  bytes: { up: number; down: number };
  close(): Promise<void>;
}

/** One direction of the link: when it is next free, and what it carried. */
class Lane {
  private freeAtMs = 0;
  carried = 0;

  constructor(
    private readonly bytesPerMs: number,
    private readonly delayMs: number,
  ) {}

  /** Delivers `chunk` to `to` when it has gone through; calls after it for the same socket keep their order. */
  send(chunk: Buffer, to: Socket, then?: () => void): void {
    const now = performance.now();
    const start = Math.max(now, this.freeAtMs);
    this.freeAtMs = start + chunk.length / this.bytesPerMs;
    this.carried += chunk.length;
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
      then?.();
    }, this.freeAtMs + this.delayMs - now);
  }

  /** Runs `action` once everything sent so far has arrived. */
  after(action: () => void): void {
    const now = performance.now();
    setTimeout(action, Math.max(now, this.freeAtMs) + this.delayMs - now);
  }
}

/** At most this much per scheduled chunk, so a large write is paced, not delivered in one piece. */
const SLICE_BYTES = 16 * 1024;

function pipeThrough(from: Socket, to: Socket, lane: Lane): void {
  from.on('data', (data: Buffer) => {
    for (let offset = 0; offset < data.length; offset += SLICE_BYTES) lane.send(data.subarray(offset, offset + SLICE_BYTES), to);
  });
  from.on('end', () => lane.after(() => to.end()));
}

export async function startThrottleProxy(options: LinkOptions): Promise<ThrottleProxy> {
  const bitsPerMs = (mbit: number) => (mbit * 1e6) / 8 / 1000;
  const up = new Lane(bitsPerMs(options.upMbit), options.rttMs / 2);
  const down = new Lane(bitsPerMs(options.downMbit), options.rttMs / 2);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: options.targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
    }
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    pipeThrough(client, upstream, up);
    pipeThrough(upstream, client, down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('throttle proxy: no port');
  return {
    port: address.port,
    bytes: {
      get up() {
        return up.carried;
      },
      get down() {
        return down.carried;
      },
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
