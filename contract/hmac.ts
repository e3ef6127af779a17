/**
 * Request signing between the edge and the GPU service (v2). WebCrypto only, so the same code
 * runs in workerd and in Node.
 *
 *   signature = hex(HMAC-SHA256(secret,
 *     "v2\n<unix seconds>\n<METHOD>\n<path>\n<request id>\n<tenant>\n<deadline unix ms>\n<hex sha256(body)>"))
 *
 * sent as `x-cris-timestamp`, `x-cris-request-id` (128-bit random hex, new for every attempt:
 * the service refuses an id it has already accepted), `x-cris-tenant` (the edge's API key id:
 * the service's fairness and coalescing are per tenant), `x-cris-deadline` (when the edge stops
 * waiting: the service drops work past it) and `x-cris-signature`.
 */

export const SIGNATURE_HEADER = 'x-cris-signature';
export const TIMESTAMP_HEADER = 'x-cris-timestamp';
export const REQUEST_ID_HEADER = 'x-cris-request-id';
export const TENANT_HEADER = 'x-cris-tenant';
export const DEADLINE_HEADER = 'x-cris-deadline';
export const SIGNATURE_WINDOW_SECONDS = 300;
/**
 * Set to `1` on a service answer computed for another identical request of the same tenant
 * (coalesced): the edge books it as cached phrases, not billed.
 */
export const COALESCED_HEADER = 'x-cris-coalesced';

const REQUEST_ID = /^[0-9a-f]{32}$/;
/** Key ids and similar: no separators of the signed material, bounded length. */
const TENANT = /^[A-Za-z0-9_.:@-]{1,128}$/;
const DEADLINE = /^[0-9]{1,15}$/;

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

/** A fresh request id: 128 random bits as 32 hex characters. */
export function newRequestId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}

/** What a signature vouches for besides the method, path and body. */
export interface SignedContext {
  requestId: string;
  /** The edge's API key id. */
  tenant: string;
  /** Unix milliseconds after which the edge no longer waits for the answer. */
  deadlineMs: number;
}

/** `deadline` as sent: the header's own characters are signed. */
function canonical(timestamp: string, method: string, path: string, context: SignedContext, deadline: string, bodySha256: string): string {
  return ['v2', timestamp, method.toUpperCase(), path, context.requestId, context.tenant, deadline, bodySha256].join('\n');
}

export interface SignedHeaders {
  [TIMESTAMP_HEADER]: string;
  [REQUEST_ID_HEADER]: string;
  [TENANT_HEADER]: string;
  [DEADLINE_HEADER]: string;
  [SIGNATURE_HEADER]: string;
}

export interface SignInput {
  method: string;
  path: string;
  /** The exact bytes sent, or their hex sha256 when the caller signs one body several times. */
  body: ArrayBuffer | Uint8Array | { sha256: string };
  tenant: string;
  deadlineMs: number;
  /** Defaults to a fresh newRequestId(). */
  requestId?: string;
  nowSeconds?: number;
}

async function bodyDigest(body: SignInput['body']): Promise<string> {
  return 'sha256' in body ? body.sha256 : sha256Hex(body);
}

export async function signRequest(secret: string, input: SignInput): Promise<SignedHeaders> {
  const context: SignedContext = { requestId: input.requestId ?? newRequestId(), tenant: input.tenant, deadlineMs: Math.floor(input.deadlineMs) };
  if (!REQUEST_ID.test(context.requestId)) throw new RangeError('signRequest: the request id must be 32 lower-case hex characters');
  if (!TENANT.test(context.tenant)) throw new RangeError(`signRequest: the tenant must match ${TENANT}`);
  if (!DEADLINE.test(String(context.deadlineMs))) throw new RangeError('signRequest: the deadline must be a unix time in ms');
  const timestamp = String(input.nowSeconds ?? Math.floor(Date.now() / 1000));
  const message = canonical(timestamp, input.method, input.path, context, String(context.deadlineMs), await bodyDigest(input.body));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [REQUEST_ID_HEADER]: context.requestId,
    [TENANT_HEADER]: context.tenant,
    [DEADLINE_HEADER]: String(context.deadlineMs),
    [SIGNATURE_HEADER]: toHex(mac),
  };
}

export type VerifyFailure = 'missing' | 'expired' | 'mismatch';

/** Headers as a fetch `Headers` (or anything with `get`), or a plain record. */
export type HeaderSource = { get(name: string): string | null | undefined } | Record<string, string | null | undefined>;

export interface VerifyInput {
  method: string;
  path: string;
  body: ArrayBuffer | Uint8Array;
  headers: HeaderSource;
  nowSeconds?: number;
}

export type VerifyResult =
  | { ok: true; context: SignedContext; timestampSeconds: number }
  | { ok: false; failure: VerifyFailure };

function header(headers: HeaderSource, name: string): string | undefined {
  const value = typeof headers.get === 'function' ? (headers as { get(name: string): string | null | undefined }).get(name) : (headers as Record<string, string | null | undefined>)[name];
  return value ?? undefined;
}

/** A signature's claim, read from well-formed headers inside the time window; no MAC checked yet. */
export interface SignatureClaim {
  context: SignedContext;
  timestampSeconds: number;
  /** The 32 signature bytes sent. */
  mac: Uint8Array<ArrayBuffer>;
  /** The message the signature must be the HMAC of, for a body with this hex sha256. */
  message(bodySha256: string): string;
}

/**
 * The headers and time-window half of verifyRequest, for a runtime that computes the MAC
 * itself (the GPU service: node:crypto, synchronously): `missing` or `expired`, or the claim.
 */
export function readSignature(input: Omit<VerifyInput, 'body'>): { ok: true; claim: SignatureClaim } | { ok: false; failure: VerifyFailure } {
  const timestamp = header(input.headers, TIMESTAMP_HEADER);
  const signature = header(input.headers, SIGNATURE_HEADER);
  const requestId = header(input.headers, REQUEST_ID_HEADER);
  const tenant = header(input.headers, TENANT_HEADER);
  const deadline = header(input.headers, DEADLINE_HEADER);
  if (
    !timestamp || !/^[0-9]{1,12}$/.test(timestamp) ||
    !signature || !/^[0-9a-f]{64}$/.test(signature) ||
    !requestId || !REQUEST_ID.test(requestId) ||
    !tenant || !TENANT.test(tenant) ||
    !deadline || !DEADLINE.test(deadline)
  ) {
    return { ok: false, failure: 'missing' };
  }
  const nowSeconds = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_WINDOW_SECONDS) return { ok: false, failure: 'expired' };
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = parseInt(signature.slice(2 * i, 2 * i + 2), 16);
  const context: SignedContext = { requestId, tenant, deadlineMs: Number(deadline) };
  const message = (bodySha256: string) => canonical(timestamp, input.method, input.path, context, deadline, bodySha256);
  return { ok: true, claim: { context, timestampSeconds: Number(timestamp), mac, message } };
}

/** Constant-time check (crypto.subtle.verify) of a signature and the context it covers. */
export async function verifyRequest(secret: string, input: VerifyInput): Promise<VerifyResult> {
  const read = readSignature(input);
  if (!read.ok) return read;
  const { claim } = read;
  const message = encoder.encode(claim.message(await sha256Hex(input.body)));
  const ok = await crypto.subtle.verify('HMAC', await hmacKey(secret), claim.mac, message);
  return ok ? { ok: true, context: claim.context, timestampSeconds: claim.timestampSeconds } : { ok: false, failure: 'mismatch' };
}
