/**
 * Test-side references for the service's pure parts (not used by the service itself): a
 * logger that says nothing, the whole-image inverse letterbox the region-limited post-processing
 * is checked against, and a MultiPolygon's area.
 */
import type { Logger } from '../../gpu-service/src/core/logger.js';
import type { LetterboxTransform } from '../../gpu-service/src/core/types.js';
import { inverseLetterboxMatrix, warpAffineCubicF32 } from '../../gpu-service/src/imaging/index.js';
import { ringArea, type MultiPolygonCoordinates } from '../../gpu-service/src/masks/polygon.js';

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** [S, S] probability -> [height, width] on the original image (inverse letterbox, border 0). */
export function probabilityOnOriginal(prob: Float32Array, transform: LetterboxTransform): Float32Array {
  return warpAffineCubicF32(
    { src: prob, width: transform.size, height: transform.size, channels: 1 },
    { matrix: inverseLetterboxMatrix(transform), dstWidth: transform.width, dstHeight: transform.height, border: [0] },
  );
}

/** Area of a MultiPolygon: exteriors minus holes. */
export function multiPolygonArea(polygons: MultiPolygonCoordinates): number {
  let area = 0;
  for (const [outer, ...holes] of polygons) {
    area += ringArea(outer);
    for (const hole of holes) area -= ringArea(hole);
  }
  return area;
}
