/** PhraseMask -> the public Mask shape in the requested format. */
import type { Mask, MaskFormat } from '../../../contract/segment.js';
import type { EncodeMask, PhraseMask } from '../core/types.js';
import { maskToPng } from './png.js';
import { maskToPolygons } from './polygon.js';
import { encodeRle } from '../../../contract/rle.js';

export const encodeMask: EncodeMask = async (phrase: PhraseMask, format: MaskFormat): Promise<Mask> => {
  switch (format) {
    case 'polygon':
      return { format, coordinates: maskToPolygons(phrase.mask, phrase.width, phrase.height) };
    case 'rle': {
      const rle = encodeRle(phrase.mask, phrase.width, phrase.height);
      return { format, size: rle.size, counts: rle.counts };
    }
    case 'png':
      return { format, data: (await maskToPng(phrase.mask, phrase.width, phrase.height)).toString('base64') };
    default:
      throw new Error(`unknown mask format ${String(format)}`);
  }
};
