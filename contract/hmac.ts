/**
 * Request signing between the edge and the GPU service. WebCrypto only, so the same code runs
 * in workerd and in Node.
 *
 *   signature = hex(HMAC-SHA256(secret, "v1\n<unix seconds>\n<METHOD>\n<path>\n<hex sha256(body)>"))
 *
 * sent as `x-cris-timestamp` and `x-cris-signature`.
 */

export const SIGNATURE_HEADER = 'x-cris-signature';
export const TIMESTAMP_HEADER = 'x-cris-timestamp';
export const SIGNATURE_WINDOW_SECONDS = 300;

const encoder = new TextEncoder();

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const byte of view) out += byte.toString(16).padStart(2, '0');
  return out;
}

export async function sha256Hex(data: ArrayBuffer | Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

function canonical(timestamp: string, method: string, path: string, bodySha256: string): string {
  return ['v1', timestamp, method.toUpperCase(), path, bodySha256].join('\n');
}

export interface SignedHeaders {
  [TIMESTAMP_HEADER]: string;
  [SIGNATURE_HEADER]: string;
}

export async function signRequest(
  secret: string,
  method: string,
  path: string,
  body: ArrayBuffer | Uint8Array,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<SignedHeaders> {
  const timestamp = String(nowSeconds);
  const message = canonical(timestamp, method, path, await sha256Hex(body));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: toHex(mac) };
}

export type VerifyFailure = 'missing' | 'expired' | 'mismatch';

/** Constant-time check (crypto.subtle.verify) of a signature; `null` when it is valid. */
export async function verifyRequest(
  secret: string,
  method: string,
  path: string,
  body: ArrayBuffer | Uint8Array,
  timestamp: string | null | undefined,
  signature: string | null | undefined,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<VerifyFailure | null> {
  if (!timestamp || !signature || !/^[0-9]{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/.test(signature)) {
    return 'missing';
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return 'expired';
  const macBytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) macBytes[i] = parseInt(signature.slice(2 * i, 2 * i + 2), 16);
  const message = canonical(timestamp, method, path, await sha256Hex(body));
  const ok = await crypto.subtle.verify('HMAC', await hmacKey(secret), macBytes, encoder.encode(message));
  return ok ? null : 'mismatch';
}
