import { describe, expect, it } from 'vitest';
import {
  ApiError,
  cleanText,
  ERROR_STATUS,
  resultKey,
  signRequest,
  verifyRequest,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from '../../../contract/index.js';

const body = new TextEncoder().encode('--boundary\r\nhello\r\n');

describe('hmac', () => {
  it('accepts its own signature and refuses a changed body, path, secret or stale time', async () => {
    const now = 1_800_000_000;
    const context = { tenant: 'key_abc', deadlineMs: now * 1000 + 5000 };
    const h = await signRequest('s3cret', { method: 'POST', path: '/v1/segment', body, ...context, nowSeconds: now });
    const ts = h[TIMESTAMP_HEADER];
    const sig = h[SIGNATURE_HEADER];
    const check = async (b: Uint8Array, path: string, secret: string, headers: Record<string, string | null>, at: number) => {
      const result = await verifyRequest(secret, { method: 'POST', path, body: b, headers, nowSeconds: at });
      return result.ok ? null : result.failure;
    };
    expect(await check(body, '/v1/segment', 's3cret', { ...h }, now + 10)).toBeNull();
    expect(await check(new Uint8Array([1]), '/v1/segment', 's3cret', { ...h }, now)).toBe('mismatch');
    expect(await check(body, '/v1/other', 's3cret', { ...h }, now)).toBe('mismatch');
    expect(await check(body, '/v1/segment', 'other', { ...h }, now)).toBe('mismatch');
    expect(await check(body, '/v1/segment', 's3cret', { ...h, [TIMESTAMP_HEADER]: ts }, now + 301)).toBe('expired');
    expect(await check(body, '/v1/segment', 's3cret', { ...h, [TIMESTAMP_HEADER]: null }, now)).toBe('missing');
    expect(await check(body, '/v1/segment', 's3cret', { ...h, [SIGNATURE_HEADER]: 'zz' }, now)).toBe('missing');
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('cleanText', () => {
  it('cleans as CLIP does: html entities twice, whitespace collapsed, lower case', () => {
    expect(cleanText('  The   Red\tCircle ')).toBe('the red circle');
    expect(cleanText('fish &amp;amp; chips')).toBe('fish & chips');
    expect(cleanText('a&#x41;b')).toBe('aab');
  });
});

describe('resultKey', () => {
  const base = { model: 'cris-shapes-s@1.0.0', imageSha256: 'a'.repeat(64), phrases: ['the red circle'], options: { format: 'polygon' as const } };
  it('is stable for equivalent phrasing and changes with any option', async () => {
    const k = await resultKey(base);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(await resultKey({ ...base, phrases: ['  The RED   circle'] })).toBe(k);
    expect(await resultKey({ ...base, options: { format: 'rle' } })).not.toBe(k);
    expect(await resultKey({ ...base, options: { format: 'polygon', threshold: 0.5 } })).not.toBe(k);
    const presence = await resultKey({ ...base, options: { format: 'polygon', presence_threshold: 0.5 } });
    expect(presence).not.toBe(k);
    expect(await resultKey({ ...base, options: { format: 'polygon', presence_threshold: 0.6 } })).not.toBe(presence);
    expect(await resultKey({ ...base, model: 'cris-shapes-s@1.0.1' })).not.toBe(k);
    expect(await resultKey({ ...base, imageSha256: 'b'.repeat(64) })).not.toBe(k);
  });
});

describe('ApiError', () => {
  it('maps codes to statuses and carries Retry-After', () => {
    const e = new ApiError('overloaded', 'queue full', 2.2);
    expect(e.status).toBe(429);
    expect(e.toBody()).toEqual({ error: { code: 'overloaded', message: 'queue full' } });
    expect(e.headers()).toEqual({ 'retry-after': '3' });
    expect(ERROR_STATUS.image_too_large).toBe(413);
  });
});
