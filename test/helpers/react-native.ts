/**
 * Stand-ins for React Native's Blob, FileReader and FormData, with the behaviour the SDK must cope
 * with, as React Native's own sources (facebook/react-native, packages/react-native/Libraries)
 * define it; written here from that behaviour, not copied:
 *
 *   Blob/Blob.js          an opaque handle on bytes held natively (`data`: blobId, offset, size,
 *                         type); `size`, `type`, `slice()`, `close()`, and no arrayBuffer(),
 *                         stream() or text(); `data` throws once closed
 *   Blob/BlobManager.js   `new Blob(parts)` takes Blobs and strings only: an ArrayBuffer or a view
 *                         throws "Creating blobs from 'ArrayBuffer' and 'ArrayBufferView' are not
 *                         supported"; Blobs with bytes come from native (fetch(uri).blob(), XHR)
 *   Blob/FileReader.js    readAsDataURL / readAsArrayBuffer, answered asynchronously by the
 *                         native module as `data:<type>;base64,...`, then onload and onloadend
 *   Network/FormData.js   append(name, string | { uri, name?, type? }); getParts() turns an object
 *                         into a file part by its `uri`; the native networking module rejects a
 *                         part that is neither a string nor has a `uri` ("Unrecognized FormData part")
 *
 * `reactNativeFetch` stands in for React Native's networking: it sends a string body as it is,
 * and a FormData as its parts, each `uri` read from a file:// path or a data: URL.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NodeBlob = globalThis.Blob;
const NodeFormData = globalThis.FormData;
/** The "native" side: bytes by blobId. */
const nativeBlobs = new Map<string, Uint8Array>();
let nextBlobId = 1;

interface BlobData {
  blobId: string;
  offset: number;
  size: number;
  type: string;
}

export class ReactNativeBlob {
  private _data: BlobData | null;

  constructor(parts: Array<ReactNativeBlob | string> = [], options?: { type?: string }) {
    const chunks = parts.map((part) => {
      if (part instanceof ArrayBuffer || ArrayBuffer.isView(part)) throw new Error("Creating blobs from 'ArrayBuffer' and 'ArrayBufferView' are not supported");
      return part instanceof ReactNativeBlob ? part.nativeBytes() : new TextEncoder().encode(String(part));
    });
    const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of chunks) bytes.set(chunk, (offset += chunk.length) - chunk.length);
    this._data = ReactNativeBlob.register(bytes, options?.type ?? '');
  }

  /** A Blob as native code hands one to JS (e.g. `await (await fetch(fileUri)).blob()`). */
  static fromNative(bytes: Uint8Array, type: string): ReactNativeBlob {
    const blob = new ReactNativeBlob();
    blob._data = ReactNativeBlob.register(bytes, type);
    return blob;
  }

  private static register(bytes: Uint8Array, type: string): BlobData {
    const blobId = `blob-${nextBlobId++}`;
    nativeBlobs.set(blobId, bytes.slice());
    return { blobId, offset: 0, size: bytes.length, type };
  }

  get data(): BlobData {
    if (!this._data) throw new Error('Blob has been closed and is no longer available');
    return this._data;
  }

  get size(): number {
    return this.data.size;
  }

  get type(): string {
    return this.data.type || '';
  }

  slice(start = 0, end = this.size, contentType = ''): ReactNativeBlob {
    const view = new ReactNativeBlob();
    const from = Math.min(start, this.size);
    view._data = { blobId: this.data.blobId, offset: this.data.offset + from, size: Math.max(0, Math.min(end, this.size) - from), type: contentType };
    return view;
  }

  close(): void {
    nativeBlobs.delete(this.data.blobId);
    this._data = null;
  }

  /** What the native module reads for this handle (test side only: JS in React Native has no such call). */
  nativeBytes(): Uint8Array {
    const { blobId, offset, size } = this.data;
    return nativeBlobs.get(blobId)!.subarray(offset, offset + size);
  }
}

export class ReactNativeFileReader {
  result: string | ArrayBuffer | null = null;
  error: Error | null = null;
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onloadend: (() => void) | null = null;

  readAsDataURL(blob: ReactNativeBlob): void {
    this.read(blob, (bytes, type) => `data:${type || 'application/octet-stream'};base64,${Buffer.from(bytes).toString('base64')}`);
  }

  readAsArrayBuffer(blob: ReactNativeBlob): void {
    this.read(blob, (bytes) => bytes.slice().buffer);
  }

  private read(blob: ReactNativeBlob, as: (bytes: Uint8Array, type: string) => string | ArrayBuffer): void {
    if (blob == null) throw new TypeError("Failed to execute 'readAsDataURL' on 'FileReader': parameter 1 is not of type 'Blob'");
    setTimeout(() => {
      try {
        this.result = as(blob.nativeBytes(), blob.type);
        this.onload?.();
      } catch (error) {
        this.error = error as Error;
        this.onerror?.();
      }
      this.onloadend?.();
    }, 1);
  }
}

type FormDataValue = string | { uri: string; name?: string; type?: string };

export class ReactNativeFormData {
  private parts: Array<[string, FormDataValue]> = [];

  append(name: string, value: FormDataValue): void {
    this.parts.push([name, value]);
  }

  getParts(): Array<{ fieldName: string; string?: string; uri?: string; name?: string; type?: string }> {
    return this.parts.map(([fieldName, value]) => (typeof value === 'object' && value ? { ...value, fieldName } : { string: String(value), fieldName }));
  }
}

function readUri(uri: string): Uint8Array {
  if (uri.startsWith('file://')) return readFileSync(fileURLToPath(uri));
  const dataUrl = /^data:[^,]*;base64,(.*)$/.exec(uri);
  if (dataUrl) return Buffer.from(dataUrl[1]!, 'base64');
  throw new Error(`the native side cannot read ${uri.slice(0, 40)}`);
}

/** React Native's networking as seen from a server: what it sends for each body kind. */
export function reactNativeFetch(record: Array<{ contentType: string | null; parts?: string[]; image?: string }>): typeof fetch {
  return (async (url: string | URL | Request, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (init.body instanceof ReactNativeFormData) {
      const form = new NodeFormData();
      const parts = init.body.getParts();
      for (const part of parts) {
        if (typeof part.string === 'string') form.append(part.fieldName, part.string);
        else if (typeof part.uri === 'string') form.append(part.fieldName, new NodeBlob([readUri(part.uri) as BlobPart], { type: part.type ?? '' }), part.name ?? 'file');
        else throw new Error('Unrecognized FormData part.');
      }
      record.push({ contentType: 'multipart/form-data', parts: parts.map((part) => part.fieldName) });
      return fetch(url, { ...init, headers, body: form });
    }
    if (typeof init.body !== 'string' && init.body !== undefined) throw new Error(`React Native's fetch cannot send this body: ${Object.prototype.toString.call(init.body)}`);
    const image = typeof init.body === 'string' ? (JSON.parse(init.body) as { image?: string }).image : undefined;
    record.push({ contentType: headers.get('content-type'), ...(image ? { image: `${image.slice(0, image.indexOf(',') + 1)}...` } : {}) });
    return fetch(url, { ...init, headers });
  }) as typeof fetch;
}
