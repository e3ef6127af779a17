/** Base64 of bytes and back, with the platform's btoa/atob (workerd, browsers, Node 16+). */

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  // fromCharCode in chunks: one spread of a large array would overflow the call stack
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Throws (atob's DOMException) on text that is not base64. */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
