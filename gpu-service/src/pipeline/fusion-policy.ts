/**
 * Which way one request runs: fused (its image prepared and its masks made inside the inference
 * worker, one thread round trip) or split (prepare on an imaging thread, the batch on the
 * inference worker, the masks on an imaging thread: three round trips, but the inference worker
 * never waits for pixel work). Without imaging threads every request is fused. With them, a
 * request is fused only when the service is idle (nothing queued or running, for inference or
 * imaging) and its image is small: a lone request then skips two round trips, and a request
 * arriving meanwhile waits behind at most a small decode. Under load everything is split.
 */
import { imageDimensions } from '../admission/image-dimensions.js';
import type { SegmentRequest } from '../core/jobs.js';

/** Images up to this many pixels may run fused when the service is idle (decode + letterbox of a few ms). */
export const FUSE_WHEN_IDLE_MAX_PIXELS = 1_000_000;

export interface FusionState {
  /** Imaging threads apart from the inference workers (CRIS_IMAGING_WORKERS > 0). */
  imagingThreads: boolean;
  /** Fuse lone small requests (CRIS_FUSE_WHEN_IDLE). */
  whenIdle: boolean;
  /** Nothing queued or running in the batcher, the inference workers or the imaging threads. */
  idle(): boolean;
}

export function fusionPolicy(state: FusionState): (request: SegmentRequest) => boolean {
  if (!state.imagingThreads) return () => true;
  if (!state.whenIdle) return () => false;
  return (request) => {
    if (!state.idle()) return false;
    const size = imageDimensions(request.image);
    return size !== null && size.width * size.height <= FUSE_WHEN_IDLE_MAX_PIXELS;
  };
}
