/**
 * The body of `POST /v1/segment` for what the caller passed, in a form this platform can send:
 *
 *   browsers, Node      multipart: the image as a file part (bytes wrapped in a Blob)
 *   React Native        its FormData sends only strings and `{ uri, name, type }` files
 *                       (Libraries/Network/FormData.js), and its Blob has no arrayBuffer() or
 *                       stream() and cannot be built from bytes (Libraries/Blob/Blob.js,
 *                       BlobManager.js): a `{ uri }` file goes as a multipart part as it is; bytes
 *                       and Blobs go as JSON with the image as a base64 data: URL (a Blob read with
 *                       FileReader.readAsDataURL, which React Native implements natively)
 *
 * Each call of the returned factory builds a fresh body (one per attempt).
 */
import { bytesToBase64 } from '../contract/base64.js';
import type { MaskFormat, Size } from './wire.js';

/** A React Native file reference, as its FormData takes it (`{ uri, name, type }`). */
export interface FileReference {
  uri: string;
  name?: string;
  type?: string;
}

/** What `segment` accepts as the image: encoded PNG, JPEG or WebP bytes, or a file reference. */
export type ImageInput = Blob | ArrayBuffer | Uint8Array | FileReference;

/** Everything of a segmentation request but the image. */
export interface SegmentFields {
  imageId?: string;
  phrases: string[];
  format?: MaskFormat;
  threshold?: number;
  presence_threshold?: number;
  originalSize?: Size;
  webhook?: string;
}

export type BodyFactory = () => { body: BodyInit; headers?: Record<string, string> };

/** The MIME type of encoded image bytes, from their first bytes. */
export function sniffImageType(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'image/webp';
  return 'application/octet-stream';
}

export function isFileReference(image: unknown): image is FileReference {
  return typeof image === 'object' && image !== null && typeof (image as FileReference).uri === 'string';
}

/** React Native's FormData (it has `getParts`, which the standard one lacks): file parts only as `{ uri }`. */
export function formDataTakesOnlyFiles(): boolean {
  return typeof FormData !== 'undefined' && typeof (FormData.prototype as { getParts?: unknown }).getParts === 'function';
}

/** A Blob as a data: URL: arrayBuffer() where the Blob has it, else FileReader (React Native). */
export async function blobToDataUrl(blob: Blob): Promise<string> {
  if (typeof blob.arrayBuffer === 'function') return bytesToDataUrl(new Uint8Array(await blob.arrayBuffer()), blob.type);
  if (typeof FileReader === 'undefined') throw new TypeError('segment: this Blob has no arrayBuffer() and there is no FileReader to read it');
  return new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('FileReader failed'));
    reader.readAsDataURL(blob);
  });
}

function bytesToDataUrl(bytes: Uint8Array, type?: string): string {
  return `data:${type || sniffImageType(bytes)};base64,${bytesToBase64(bytes)}`;
}

function multipart(image: Blob | Uint8Array | FileReference | undefined, fields: SegmentFields): BodyFactory {
  return () => {
    const form = new FormData();
    if (image === undefined) form.append('image_id', fields.imageId!);
    // React Native's FormData sends { uri, name, type } as a file part.
    else if (isFileReference(image)) form.append('image', { name: 'image', type: 'image/jpeg', ...image } as unknown as Blob);
    else if (image instanceof Uint8Array) form.append('image', new Blob([image as BlobPart], { type: sniffImageType(image) }), 'image');
    else form.append('image', image, (image as File).name || 'image');
    if (fields.originalSize) form.append('original_size', JSON.stringify(fields.originalSize));
    for (const phrase of fields.phrases) form.append('text', phrase);
    if (fields.format !== undefined) form.append('format', fields.format);
    if (fields.threshold !== undefined) form.append('threshold', String(fields.threshold));
    if (fields.presence_threshold !== undefined) form.append('presence_threshold', String(fields.presence_threshold));
    if (fields.webhook !== undefined) form.append('webhook', fields.webhook);
    return { body: form };
  };
}

function json(imageDataUrl: string, fields: SegmentFields): BodyFactory {
  const text = JSON.stringify({
    image: imageDataUrl,
    text: fields.phrases,
    format: fields.format,
    threshold: fields.threshold,
    presence_threshold: fields.presence_threshold,
    original_size: fields.originalSize,
    webhook: fields.webhook,
  });
  return () => ({ body: text, headers: { 'content-type': 'application/json' } });
}

/** The body factory for `image` (already shrunk, or absent when `fields.imageId` names it). */
export async function segmentBody(image: ImageInput | undefined, fields: SegmentFields): Promise<BodyFactory> {
  if (image === undefined || isFileReference(image)) return multipart(image, fields);
  const bytes = image instanceof ArrayBuffer ? new Uint8Array(image) : image;
  if (!formDataTakesOnlyFiles() && (bytes instanceof Uint8Array || typeof (bytes as Blob).arrayBuffer === 'function')) return multipart(bytes, fields);
  return json(bytes instanceof Uint8Array ? bytesToDataUrl(bytes) : await blobToDataUrl(bytes), fields);
}
