/**
 * The pixel work of a request, from a bundle's manifest: image bytes -> network input
 * (prepare), and one phrase row's logits -> its mask and encodings (postprocess, encodeMask).
 * An imaging worker thread and the in-process pipeline hold the same parts.
 */
import type { Size } from '../../../contract/images.js';
import type { BundleManifest } from '../bundle/index.js';
import type { PreparedImage } from '../core/types.js';
import { prepareImage } from '../imaging/index.js';
import { encodeMask, logitsToPhraseMask } from '../masks/index.js';
import type { PostprocessDeps } from './batch-executor.js';

export interface ImagingParts extends PostprocessDeps {
  /** originalSize: the photo the bytes were shrunk from (the transform maps to it); sha256: the bytes', when known. */
  prepare(bytes: Uint8Array, originalSize?: Size, sha256?: string): Promise<PreparedImage>;
}

export function imagingParts(input: BundleManifest['input']): ImagingParts {
  return {
    postprocess: logitsToPhraseMask,
    encodeMask,
    async prepare(bytes, originalSize, known) {
      const { tensor, transform, sha256 } = await prepareImage(bytes, input, { originalSize, sha256: known }); // not the decoded pixels
      return { tensor, transform, sha256 };
    },
  };
}
