/**
 * Stored images (`image_id`): where the GPU service keeps an uploaded image for later requests of
 * the same key, how long, and the rule an `original_size` must follow to be asked of an upload.
 */

/** The id of an image: the sha256 (hex) of its encoded bytes, as uploaded. */
export const IMAGE_ID_PATTERN = /^[0-9a-f]{64}$/;

/** How long a stored image can be used by `image_id` after its last upload (24 h). */
export const IMAGE_TTL_SECONDS = 86_400;

/** S3 user metadata (x-amz-meta-expires-at) holding the expiry, in Unix seconds. */
export const IMAGE_EXPIRES_METADATA = 'expires-at';

/**
 * S3 user metadata holding the `original_size` the image was uploaded with (`<width>x<height>`):
 * a later request by `image_id` gets its masks at that size too, unless it sends its own.
 */
export const IMAGE_ORIGINAL_SIZE_METADATA = 'original-size';

export function formatSize(size: Size): string {
  return `${size.width}x${size.height}`;
}

export function parseSize(text: string | null | undefined): Size | undefined {
  const match = /^(\d+)x(\d+)$/.exec(text ?? '');
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

/** `images/<key id>/<sha256>`: scoped per API key, so another key's id finds nothing. */
export function imageObjectKey(keyId: string, imageId: string): string {
  return `images/${keyId}/${imageId}`;
}

export interface Size {
  width: number;
  height: number;
}

/**
 * Whether `upload` can be `original` scaled down (or up) with each side rounded: some scale k
 * has |original.width * k - upload.width| <= 1 and |original.height * k - upload.height| <= 1.
 * Any resizer that keeps the aspect ratio and rounds (or floors) its sides passes.
 */
export function sameAspectWithinRounding(upload: Size, original: Size): boolean {
  const low = Math.max((upload.width - 1) / original.width, (upload.height - 1) / original.height);
  const high = Math.min((upload.width + 1) / original.width, (upload.height + 1) / original.height);
  return low <= high;
}
