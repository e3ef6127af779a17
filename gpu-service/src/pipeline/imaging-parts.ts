/**
 * The pixel work of a request, from a bundle's manifest: image bytes -> network input
 * (prepare), and one phrase row's logits -> its mask and encodings (postprocess, encodeMask).
 * An imaging worker thread and the in-process pipeline hold the same parts. Their scratch
 * arrays (decoded pixels, the post-processing's maps and masks) come from one ArrayPool, the
 * thread's own; the prepared tensor only when the caller asks (tensorPool: the fused worker,
 * which gives it back after the encoder), never one sent to another thread.
 */
import type { Size } from '../../../contract/images.js';
import type { BundleManifest } from '../bundle/index.js';
import { ArrayPool } from '../core/array-pool.js';
import type { PreparedImage } from '../core/types.js';
import { prepareImage } from '../imaging/index.js';
import { encodeMask, logitsToPhraseMask } from '../masks/index.js';
import type { PostprocessDeps } from './batch-executor.js';

export interface ImagingParts extends PostprocessDeps {
  /**
   * originalSize: the photo the bytes were shrunk from (the transform maps to it); sha256: the
   * bytes', when known; tensorPool: take the tensor from it (the caller gives it back).
   */
  prepare(bytes: Uint8Array, originalSize?: Size, sha256?: string, tensorPool?: ArrayPool): Promise<PreparedImage>;
}

export function imagingParts(input: BundleManifest['input'], pool: ArrayPool = new ArrayPool()): ImagingParts {
  return {
    postprocess: logitsToPhraseMask,
    encodeMask,
    pool,
    async prepare(bytes, originalSize, known, tensorPool) {
      const { tensor, transform, sha256 } = await prepareImage(bytes, input, { originalSize, sha256: known, scratch: pool, tensorPool }); // not the decoded pixels
      return { tensor, transform, sha256 };
    },
  };
}
