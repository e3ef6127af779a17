import { describe, expect, it } from 'vitest';
import {
  DEADLINE_HEADER,
  REQUEST_ID_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TENANT_HEADER,
  newRequestId,
  signRequest,
  verifyRequest,
  type SignedHeaders,
} from '../../../contract/hmac.js';

const SECRET = 'hmac-test-secret-0123456789';
const BODY = new TextEncoder().encode('--b\r\ncontent\r\n--b--\r\n');
const NOW = 1_800_000_000;
const CONTEXT = { tenant: 'key_Abc123', deadlineMs: NOW * 1000 + 28_500 };

const sign = (overrides: { requestId?: string } = {}) =>
  signRequest(SECRET, { method: 'POST', path: '/v1/segment', body: BODY, ...CONTEXT, ...overrides, nowSeconds: NOW });

const verify = (headers: { [name: string]: string | undefined }, at = NOW, changes: { secret?: string; method?: string; path?: string; body?: Uint8Array } = {}) =>
  verifyRequest(changes.secret ?? SECRET, {
    method: changes.method ?? 'POST',
    path: changes.path ?? '/v1/segment',
    body: changes.body ?? BODY,
    headers,
    nowSeconds: at,
  }).then((result) => (result.ok ? null : result.failure));

describe('HMAC request signing v2 (edge -> GPU service)', () => {
  it('accepts what it signed, over the same method, path and bytes, and returns the signed context', async () => {
    const headers = await sign();
    const result = await verifyRequest(SECRET, { method: 'post', path: '/v1/segment', body: BODY, headers: new Headers({ ...headers }), nowSeconds: NOW + 10 });
    expect(result).toEqual({ ok: true, timestampSeconds: NOW, context: { requestId: headers[REQUEST_ID_HEADER], ...CONTEXT } });
    expect(headers[TENANT_HEADER]).toBe(CONTEXT.tenant);
    expect(headers[DEADLINE_HEADER]).toBe(String(CONTEXT.deadlineMs));
  });

  it('gives every signature a fresh 128-bit request id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) ids.add((await sign())[REQUEST_ID_HEADER]);
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(newRequestId()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('rejects another secret, path, method or body byte', async () => {
    const h = await sign();
    const flipped = new Uint8Array(BODY);
    flipped[3] ^= 1;
    expect(await verify({ ...h }, NOW, { secret: 'other-secret-0123456789' })).toBe('mismatch');
    expect(await verify({ ...h }, NOW, { path: '/v1/segments' })).toBe('mismatch');
    expect(await verify({ ...h }, NOW, { method: 'PUT' })).toBe('mismatch');
    expect(await verify({ ...h }, NOW, { body: flipped })).toBe('mismatch');
  });

  it('rejects a changed request id, tenant or deadline: the signature covers them', async () => {
    const h: SignedHeaders = await sign();
    expect(await verify({ ...h, [REQUEST_ID_HEADER]: newRequestId() })).toBe('mismatch');
    expect(await verify({ ...h, [TENANT_HEADER]: 'key_Other' })).toBe('mismatch');
    expect(await verify({ ...h, [DEADLINE_HEADER]: String(CONTEXT.deadlineMs + 60_000) })).toBe('mismatch');
    expect(await verify({ ...h, [DEADLINE_HEADER]: `0${CONTEXT.deadlineMs}` })).toBe('mismatch');
  });

  it('rejects a timestamp outside the window, and missing or malformed headers', async () => {
    const h = await sign();
    const ts = h['x-cris-timestamp'];
    const sig = h['x-cris-signature'];
    expect(await verify({ ...h }, NOW + SIGNATURE_WINDOW_SECONDS + 1)).toBe('expired');
    expect(await verify({ ...h }, NOW - SIGNATURE_WINDOW_SECONDS - 1)).toBe('expired');
    expect(await verify({ ...h, 'x-cris-timestamp': undefined })).toBe('missing');
    expect(await verify({ ...h, 'x-cris-signature': undefined })).toBe('missing');
    expect(await verify({ ...h, 'x-cris-signature': sig.toUpperCase() })).toBe('missing');
    expect(await verify({ ...h, 'x-cris-signature': sig.slice(2) })).toBe('missing');
    expect(await verify({ ...h, 'x-cris-timestamp': `${ts}x` })).toBe('missing');
    expect(await verify({ ...h, [REQUEST_ID_HEADER]: undefined })).toBe('missing');
    expect(await verify({ ...h, [REQUEST_ID_HEADER]: 'abc' })).toBe('missing');
    expect(await verify({ ...h, [TENANT_HEADER]: 'key\nforged' })).toBe('missing');
    expect(await verify({ ...h, [DEADLINE_HEADER]: 'soon' })).toBe('missing');
  });

  it('refuses to sign a tenant or request id that could forge the signed material', async () => {
    await expect(signRequest(SECRET, { method: 'POST', path: '/v1/segment', body: BODY, tenant: 'a\nb', deadlineMs: 1 })).rejects.toThrow(RangeError);
    await expect(sign({ requestId: 'XYZ' })).rejects.toThrow(RangeError);
  });
});
