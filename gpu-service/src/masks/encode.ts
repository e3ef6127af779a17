/** PhraseMask -> the public Mask shape in the requested format. */
import type { Mask, MaskFormat } from '../../../contract/segment.js';
import type { EncodeMask, PhraseMask } from '../core/types.js';
import { maskToPng } from './png.js';
import { encodeRle, type MaskBox } from '../../../contract/rle.js';
import { maskToPolygons, POLYGON_TOLERANCE } from './polygon.js';

/**
 * The box the encoders read: the phrase's bbox, which holds every set pixel of the PhraseMasks
 * post-processing makes (zeros for an empty mask). A bbox that cannot be the mask's (zeros with
 * area > 0, as in a hand-made PhraseMask, or fewer pixels than the area) is not used: the
 * encoders then find the box themselves.
 */
function encodeBox(phrase: PhraseMask): MaskBox | undefined {
  const [, , w, h] = phrase.bbox;
  return w * h >= phrase.area && (w > 0) === (phrase.area > 0) ? phrase.bbox : undefined;
}

export const encodeMask: EncodeMask = async (phrase: PhraseMask, format: MaskFormat): Promise<Mask> => {
  switch (format) {
    case 'polygon':
      return { format, coordinates: maskToPolygons(phrase.mask, phrase.width, phrase.height, POLYGON_TOLERANCE, encodeBox(phrase)) };
    case 'rle': {
      const rle = encodeRle(phrase.mask, phrase.width, phrase.height, encodeBox(phrase));
      return { format, size: rle.size, counts: rle.counts };
    }
    case 'png':
      return { format, data: (await maskToPng(phrase.mask, phrase.width, phrase.height)).toString('base64') };
    default:
      throw new Error(`unknown mask format ${String(format)}`);
  }
};
