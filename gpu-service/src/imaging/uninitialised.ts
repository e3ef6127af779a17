/** A byte array of `length` that is not zero-filled (its own memory, outside Node's pool): for outputs every byte of which is written. */
export function uninitialised(length: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
}
