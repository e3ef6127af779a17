/** Calls into the Worker under test and seeds API keys into its KV. */
import { env, exports } from 'cloudflare:workers';
import { hashApiKey, newApiKey, PLANS, type KeyLimits, type KeyRecord } from '../../functions/src/auth/key-record.js';

export const worker = (exports as unknown as { default: Fetcher }).default;
export const ORIGIN = 'http://edge.test';

interface TestEnv {
  API_KEYS: KVNamespace;
}

export async function seedKey(limits: Partial<KeyLimits> = {}, extra: Partial<KeyRecord> = {}): Promise<{ apiKey: string; record: KeyRecord }> {
  const { apiKey, keyId } = newApiKey('test');
  const record: KeyRecord = { keyId, plan: 'test', limits: { ...PLANS.bench, ...limits }, disabled: false, ...extra };
  await (env as unknown as TestEnv).API_KEYS.put(await hashApiKey(apiKey), JSON.stringify(record));
  return { apiKey, record };
}

let imageCounter = 0;
/** A distinct small "image" per call (the edge does not decode images; the fake GPU does not either). */
export function uniqueImage(): Uint8Array {
  imageCounter += 1;
  const bytes = new Uint8Array(64);
  bytes.set([0x89, 0x50, 0x4e, 0x47]);
  crypto.getRandomValues(bytes.subarray(4, 20));
  new DataView(bytes.buffer).setUint32(20, imageCounter);
  return bytes;
}

export function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function jsonSegment(apiKey: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return worker.fetch(`${ORIGIN}/v1/segment`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export function multipartSegment(apiKey: string, image: Uint8Array, phrases: string[], fields: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([image], { type: 'image/png' }), 'scene.png');
  for (const phrase of phrases) form.append('text', phrase);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return worker.fetch(`${ORIGIN}/v1/segment`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, ...headers }, body: form });
}

export function get(path: string, apiKey?: string, headers: Record<string, string> = {}): Promise<Response> {
  return worker.fetch(`${ORIGIN}${path}`, { headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...headers } });
}

export async function expectError(response: Response, status: number, code: string): Promise<void> {
  const body = (await response.json()) as { error?: { code?: string; message?: string } };
  if (response.status !== status || body.error?.code !== code || typeof body.error?.message !== 'string') {
    throw new Error(`expected ${status} ${code}, got ${response.status} ${JSON.stringify(body)}`);
  }
  if (Object.keys(body).length !== 1 || Object.keys(body.error).sort().join(',') !== 'code,message') {
    throw new Error(`error body has another shape: ${JSON.stringify(body)}`);
  }
}
