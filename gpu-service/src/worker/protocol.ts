/**
 * What crosses the thread boundary between the serving code and its worker threads (the job
 * data itself is core/jobs.ts). Two roles:
 * inference workers (a ModelRunner + feature cache: batches in, logits out) and imaging workers
 * (image bytes in, network input out; logits in, masks out), so neither the event loop nor the
 * accelerator waits for pixel work. Tensors travel as transferred ArrayBuffers; image features
 * never leave their worker.
 */
import type { Size } from '../../../contract/images.js';
import type { ErrorCode } from '../../../contract/errors.js';
import type { BatchInferenceOutput, BatchJob, PostprocessInput, PostprocessOutput } from '../core/jobs.js';
import type { ExecutionProvider, PreparedImage, ProviderChoice } from '../core/types.js';

export interface WorkerInit {
  /** 'both': imaging and inference in one worker, which runs fused batches (fused-job.ts). */
  role: 'inference' | 'imaging' | 'both';
  bundleDir: string;
  provider: ProviderChoice;
  threads: number;
  ortSpinning: boolean;
  featureCache: { maxEntries: number; maxBytes: number };
}

export type ToWorker =
  | { type: 'run'; id: number; job: BatchJob }
  | { type: 'postprocess'; id: number; input: PostprocessInput }
  | { type: 'prepare'; id: number; bytes: Uint8Array; originalSize?: Size; sha256?: string }
  | { type: 'close' };

export type FromWorker =
  /** `providerNote`: why the runner is on `provider` (e.g. what `auto` found unavailable). */
  | { type: 'ready'; provider: ExecutionProvider; providerNote?: string }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; output: BatchInferenceOutput | PostprocessOutput | PreparedImage }
  /** `code`: an ApiError's code (a client error such as invalid_image), rebuilt on the other side. */
  | { type: 'error'; id: number; message: string; code?: ErrorCode };

/**
 * ArrayBuffers that can be moved instead of copied: only those a typed array owns whole (a view
 * into a shared pool, such as a Node Buffer's, is copied), and never an empty one (nothing to
 * move, and a message with a transfer list reaches the other thread ~15 us later than one
 * without: gpu-service/README.md, "Threads per host").
 */
export function transferables(views: readonly ArrayBufferView[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) {
    const buffer = view.buffer;
    if (buffer instanceof ArrayBuffer && view.byteLength > 0 && view.byteOffset === 0 && view.byteLength === buffer.byteLength) {
      buffers.add(buffer);
    }
  }
  return [...buffers];
}

/** A batch's image tensors and encoded images; the token ids (a few KB at most) are copied, which is cheaper than moving them. */
export function jobTransferables(job: BatchJob): ArrayBuffer[] {
  return transferables(job.items.flatMap((item) => [item.tensor, ...(item.raw ? [item.raw.bytes] : [])]));
}
