/**
 * Small uploads: a phone photo (12 MP, 3-5 MB) is shrunk before it is sent to what the model can
 * use, its longer side to 2 x the bundle's input size (GET /v1/models tells it; see shrinkSide),
 * as JPEG (quality 0.85; 4:4:4 chroma in Node) after applying its EXIF orientation; the request then
 * carries `original_size` (the oriented photo's size), so masks, bbox and area come back in the
 * photo's own pixels.
 *
 *   browser       createImageBitmap(blob, { imageOrientation: 'from-image' }) + OffscreenCanvas
 *   Node          sharp, an optional peer dependency (imported only when a photo is shrunk)
 *   React Native  the app resizes (expo-image-manipulator, see the README) and passes `originalSize`
 */
import { formDataTakesOnlyFiles } from './upload.js';
import type { Size } from './wire.js';

/** `'auto'` (default): shrink where this platform can; `true`: shrink or throw; `false`: send as is. */
export type ShrinkMode = boolean | 'auto';

export interface ShrinkSettings {
  /** Longer side of the upload in pixels. */
  maxSide: number;
  type: 'image/jpeg' | 'image/webp';
  /** Encoder quality in (0, 1]. */
  quality: number;
}

export const SHRINK_QUALITY = 0.85;
/** Input side assumed when the API does not tell it (CRIS's own 416). */
export const DEFAULT_INPUT_SIZE = 416;

/** Smallest upload side, whatever the bundle. */
export const MIN_UPLOAD_SIDE = 256;

/**
 * The upload's longer side for a bundle whose network input is `inputSize` pixels: twice the
 * letterboxed size, which is what the service shrinks a large photo to before its letterbox warp
 * (gpu-service imaging SHRINK_TO), so the network sees about the same input as for the full photo.
 * Measured on the scaled-up sample scenes (test/integration/mobile.test.ts): mask IoU with the
 * full upload >= 0.99 at 2x; at 3.2x (512 for the 160 bundle) 0.984, the warp then aliases.
 */
export function shrinkSide(inputSize: number = DEFAULT_INPUT_SIZE): number {
  return Math.max(2 * inputSize, MIN_UPLOAD_SIDE);
}

/** `size` scaled so its longer side is `maxSide`, sides rounded (at least 1). */
export function fitWithin(size: Size, maxSide: number): Size {
  const scale = maxSide / Math.max(size.width, size.height);
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}

/** Encoded bytes to send and the photo's own size (absent when nothing was shrunk). */
export interface Upload<T> {
  image: T | Blob | Uint8Array;
  originalSize?: Size;
}

type ImageBitmapLike = { width: number; height: number; close(): void };
type BrowserGlobals = {
  createImageBitmap?: (image: Blob, options?: { imageOrientation?: 'from-image' | 'none' }) => Promise<ImageBitmapLike>;
  OffscreenCanvas?: new (width: number, height: number) => {
    getContext(kind: '2d'): { imageSmoothingEnabled: boolean; imageSmoothingQuality: string; drawImage(image: unknown, x: number, y: number, w: number, h: number): void } | null;
    convertToBlob(options: { type: string; quality: number }): Promise<Blob>;
  };
};

function browserCanShrink(): boolean {
  const scope = globalThis as BrowserGlobals;
  return typeof scope.createImageBitmap === 'function' && typeof scope.OffscreenCanvas === 'function';
}

/** Browser: decode with EXIF orientation applied, draw smaller, encode. */
async function shrinkInBrowser(blob: Blob, settings: () => Promise<ShrinkSettings>): Promise<Upload<Blob> | null> {
  const scope = globalThis as Required<BrowserGlobals>;
  const bitmap = await scope.createImageBitmap(blob, { imageOrientation: 'from-image' }).catch(() => null);
  if (!bitmap) return null;
  try {
    const original = { width: bitmap.width, height: bitmap.height }; // oriented
    if (Math.max(original.width, original.height) <= MIN_UPLOAD_SIDE) return { image: blob };
    const { maxSide, type, quality } = await settings();
    if (Math.max(original.width, original.height) <= maxSide) return { image: blob };
    const size = fitWithin(original, maxSide);
    const canvas = new scope.OffscreenCanvas(size.width, size.height);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('shrink: no 2d context on OffscreenCanvas');
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, size.width, size.height);
    return { image: await canvas.convertToBlob({ type, quality }), originalSize: original };
  } finally {
    bitmap.close();
  }
}

interface SharpLike {
  metadata(): Promise<{ width?: number; height?: number; orientation?: number }>;
  rotate(): SharpLike;
  resize(width: number, height: number, options: { fit: 'fill'; kernel?: string }): SharpLike;
  jpeg(options: { quality: number; mozjpeg?: boolean; chromaSubsampling?: string }): SharpLike;
  webp(options: { quality: number }): SharpLike;
  toBuffer(): Promise<Uint8Array>;
}
type SharpFactory = (input: Uint8Array) => SharpLike;

/** sharp, if installed; the name is not a literal so browser bundlers leave it alone. */
async function loadSharp(): Promise<SharpFactory | null> {
  const name = 'sharp';
  try {
    const module = (await import(/* @vite-ignore */ name)) as { default?: SharpFactory };
    return module.default ?? (module as unknown as SharpFactory);
  } catch {
    return null;
  }
}

/** Node: the same with sharp. */
async function shrinkWithSharp(sharp: SharpFactory, bytes: Uint8Array, settingsFor: () => Promise<ShrinkSettings>): Promise<Upload<Uint8Array> | null> {
  const meta = await sharp(bytes).metadata().catch(() => null);
  if (!meta?.width || !meta.height) return null;
  const swap = (meta.orientation ?? 1) >= 5;
  const original = swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  if (Math.max(original.width, original.height) <= MIN_UPLOAD_SIDE) return { image: bytes };
  const settings = await settingsFor();
  if (Math.max(original.width, original.height) <= settings.maxSide) return { image: bytes };
  const size = fitWithin(original, settings.maxSide);
  const pipeline = sharp(bytes).rotate().resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' });
  const quality = Math.round(settings.quality * 100);
  const encoded = await (settings.type === 'image/webp' ? pipeline.webp({ quality }) : pipeline.jpeg({ quality, mozjpeg: true, chromaSubsampling: '4:4:4' })).toBuffer();
  return { image: new Uint8Array(encoded), originalSize: original };
}

let warnedNoSharp = false;

/**
 * What to upload for `image`: a shrunk copy and the photo's size when it is larger than
 * `settings().maxSide` and this platform can shrink, else the image as it is. `settings` is
 * asked only for a photo larger than MIN_UPLOAD_SIDE. Bytes that do not decode go as they are
 * (the API answers them with its own error).
 */
export async function prepareUpload<T extends object>(image: T | Blob | Uint8Array | ArrayBuffer, mode: ShrinkMode, settings: () => Promise<ShrinkSettings>): Promise<Upload<T>> {
  const asIs = { image: image instanceof ArrayBuffer ? new Uint8Array(image) : image };
  if (mode === false) return asIs;
  const isBlob = typeof Blob !== 'undefined' && image instanceof Blob;
  const isBytes = image instanceof Uint8Array || image instanceof ArrayBuffer;
  const readable = isBytes || (isBlob && typeof (image as Blob).arrayBuffer === 'function');
  if (!readable || formDataTakesOnlyFiles()) {
    // React Native (a { uri } file, its Blob, its FormData): the app resizes and passes originalSize (README).
    if (mode === true) throw new TypeError('shrink: this image cannot be shrunk here (React Native); resize it in the app and pass originalSize');
    return asIs as Upload<T>;
  }
  if (browserCanShrink()) {
    const blob = isBlob ? (image as Blob) : new Blob([asIs.image as Uint8Array as BlobPart]);
    return ((await shrinkInBrowser(blob, settings)) ?? asIs) as Upload<T>;
  }
  const sharp = await loadSharp();
  if (!sharp) {
    const message = 'shrinking a photo in Node needs the optional peer dependency sharp (npm install sharp), or pass shrink: false';
    if (mode === true) throw new Error(message);
    if (!warnedNoSharp) console.warn(`cris sdk: ${message}; uploading at full size`);
    warnedNoSharp = true;
    return asIs as Upload<T>;
  }
  const bytes = isBlob ? new Uint8Array(await (image as Blob).arrayBuffer()) : (asIs.image as Uint8Array);
  return ((await shrinkWithSharp(sharp, bytes, settings)) ?? asIs) as Upload<T>;
}
