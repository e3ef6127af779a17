/**
 * The edge Worker's own JavaScript heap under `wrangler dev`, read through wrangler's inspector
 * (Chrome DevTools Protocol on `ws://127.0.0.1:<inspector port>/ws`): what our code and its
 * per-isolate state hold, apart from the rest of workerd's resident memory.
 *
 * - `usedMb()`: Runtime.getHeapUsage (live objects plus garbage not yet collected).
 * - `retained()`: a heap snapshot (V8 collects garbage first; workerd does not answer
 *   HeapProfiler.collectGarbage), then the heap in use, and the snapshot's largest holders
 *   by constructor (self size), so growth can be pinned to what holds it.
 */
import WebSocket from 'ws';

export interface RetainedHeap {
  usedMb: number;
  /** Constructor name -> { count, MB of self size }, the largest first. */
  top: Array<{ name: string; count: number; mb: number }>;
}

export interface WorkerHeap {
  usedMb(): Promise<number>;
  retained(topN?: number): Promise<RetainedHeap>;
  close(): void;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: { chunk?: string };
  result?: { usedSize?: number };
  error?: { message: string };
}

export async function connectWorkerHeap(inspectorPort: number, timeoutMs = 120_000): Promise<WorkerHeap> {
  const socket = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Worker inspector did not open')), 10_000);
    socket.once('open', () => (clearTimeout(timer), resolve()));
    socket.once('error', (error) => (clearTimeout(timer), reject(error)));
  });
  let nextId = 0;
  const call = (method: string, params: object = {}, onEvent?: (message: CdpMessage) => void) =>
    new Promise<CdpMessage['result']>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => (socket.off('message', onMessage), reject(new Error(`inspector: ${method} timed out`))), timeoutMs);
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(String(data)) as CdpMessage;
        if (message.id !== id) return onEvent?.(message);
        clearTimeout(timer);
        socket.off('message', onMessage);
        if (message.error) reject(new Error(`inspector: ${method}: ${message.error.message}`));
        else resolve(message.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  const usedMb = async () => ((await call('Runtime.getHeapUsage'))?.usedSize ?? Number.NaN) / 1e6;
  return {
    usedMb,
    async retained(topN = 6) {
      let snapshot = '';
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, (message) => {
        if (message.method === 'HeapProfiler.addHeapSnapshotChunk') snapshot += message.params?.chunk ?? '';
      });
      return { usedMb: await usedMb(), top: largestHolders(snapshot, topN) };
    },
    close: () => socket.close(),
  };
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size per constructor of the snapshot's objects (and closures, strings, arrays), the largest first. */
function largestHolders(text: string, topN: number): RetainedHeap['top'] {
  const { snapshot, nodes, strings } = JSON.parse(text) as Snapshot;
  const fields = snapshot.meta.node_fields;
  const stride = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const types = snapshot.meta.node_types[0];
  const byName = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + typeAt]];
    const name = type === 'object' || type === 'closure' ? strings[nodes[i + nameAt]] : `(${type})`;
    const entry = byName.get(name) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + sizeAt];
    byName.set(name, entry);
  }
  return [...byName]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, topN)
    .map(([name, { count, bytes }]) => ({ name, count, mb: Math.round(bytes / 1e4) / 100 }));
}
