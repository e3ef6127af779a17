/**
 * A JPEG's markers up to its first scan, read without decoding: the frame (SOFn, precision, size,
 * components), whether an Adobe APP14 marker is there, and its EXIF orientation read the way
 * libvips reads it (libexif: the first IFD that has the tag, of IFD0, IFD1, EXIF, GPS, Interop).
 * Anything this reader is unsure of answers null, so the caller can leave the file to sharp.
 */

export interface JpegLayout {
  /** The SOF marker's second byte: 0xc0 baseline, 0xc1 extended, 0xc2 progressive, ... */
  sof: number;
  precision: number;
  width: number;
  height: number;
  /** Component ids in frame order, with their sampling factors. */
  components: { id: number; h: number; v: number }[];
  adobe: boolean;
  /** 1..8; 1 when there is no EXIF orientation. */
  orientation: number;
}

const SOI = 0xd8;
const SOS = 0xda;
const APP1 = 0xe1;
const APP14 = 0xee;
const ORIENTATION_TAG = 0x0112;
const EXIF_IFD_TAG = 0x8769;
const GPS_IFD_TAG = 0x8825;
const SHORT = 3;

/** The layout of a JPEG's header; null where it is not a plain one this reader is sure of. */
export function readJpegLayout(bytes: Uint8Array): JpegLayout | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let frame: Omit<JpegLayout, 'adobe' | 'orientation'> | null = null;
  let adobe = false;
  const exif: Uint8Array[] = [];
  for (let offset = 2; offset + 4 <= bytes.length; ) {
    if (bytes[offset] !== 0xff) return null; // libjpeg would skip garbage with a warning
    const marker = bytes[offset + 1];
    if (marker === SOS) {
      if (!frame) return null;
      const orientation = exif.length === 0 ? 1 : exif.length === 1 ? exifOrientation(exif[0]) : null;
      return orientation === null ? null : { ...frame, adobe, orientation };
    }
    if (marker === 0xff || marker === SOI || (marker >= 0xd0 && marker <= 0xd9) || marker === 0x01) return null;
    const length = view.getUint16(offset + 2);
    const end = offset + 2 + length;
    if (length < 2 || end > bytes.length) return null;
    const data = bytes.subarray(offset + 4, end);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (frame) return null;
      frame = readFrame(marker, data);
      if (!frame) return null;
    } else if (marker === APP14 && data.length >= 5 && ascii(data, 0, 5) === 'Adobe') {
      adobe = true;
    } else if (marker === APP1 && data.length >= 4 && ascii(data, 0, 4) === 'Exif') {
      exif.push(data); // libvips keeps every APP1 that starts "Exif"
    }
    offset = end;
  }
  return null;
}

function readFrame(sof: number, data: Uint8Array): Omit<JpegLayout, 'adobe' | 'orientation'> | null {
  if (data.length < 6) return null;
  const count = data[5];
  if (data.length !== 6 + 3 * count) return null;
  const components = Array.from({ length: count }, (_, i) => {
    const sampling = data[7 + 3 * i];
    return { id: data[6 + 3 * i], h: sampling >> 4, v: sampling & 15 };
  });
  return { sof, precision: data[0], height: (data[1] << 8) | data[2], width: (data[3] << 8) | data[4], components };
}

/**
 * The orientation in one APP1 EXIF payload ("Exif\0\0" + TIFF); null where libexif's answer is
 * not certain here: a malformed TIFF, the tag not a single SHORT 1..8, or the tag absent from
 * IFD0 while other IFDs (where libexif would look next) exist.
 */
export function exifOrientation(app1: Uint8Array): number | null {
  if (app1.length < 6 + 8 || ascii(app1, 0, 6) !== 'Exif\0\0') return null;
  const tiff = app1.subarray(6);
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  if (view.getUint16(2, little) !== 42) return null;
  const ifd0 = view.getUint32(4, little);
  if (ifd0 < 8 || ifd0 + 2 > tiff.length) return null;
  const entries = view.getUint16(ifd0, little);
  const next = ifd0 + 2 + 12 * entries;
  if (next + 4 > tiff.length) return null;
  let otherIfds = view.getUint32(next, little) !== 0;
  let orientation: number | null | undefined;
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + 12 * i;
    const tag = view.getUint16(entry, little);
    if (tag === EXIF_IFD_TAG || tag === GPS_IFD_TAG) otherIfds = true;
    if (tag !== ORIENTATION_TAG) continue;
    if (orientation !== undefined) return null; // twice: which one libexif keeps is not ours to guess
    const value = view.getUint16(entry + 8, little);
    const single = view.getUint16(entry + 2, little) === SHORT && view.getUint32(entry + 4, little) === 1;
    orientation = single && value >= 1 && value <= 8 ? value : null;
  }
  return orientation !== undefined ? orientation : otherIfds ? null : 1;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}
