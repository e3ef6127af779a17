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
    const h = await signRequest('s3cret', 'POST', '/v1/segment', body, now);
    const ts = h[TIMESTAMP_HEADER];
    const sig = h[SIGNATURE_HEADER];
    expect(await verifyRequest('s3cret', 'POST', '/v1/segment', body, ts, sig, now + 10)).toBeNull();
    expect(await verifyRequest('s3cret', 'POST', '/v1/segment', new Uint8Array([1]), ts, sig, now)).toBe('mismatch');
    expect(await verifyRequest('s3cret', 'POST', '/v1/other', body, ts, sig, now)).toBe('mismatch');
    expect(await verifyRequest('other', 'POST', '/v1/segment', body, ts, sig, now)).toBe('mismatch');
    expect(await verifyRequest('s3cret', 'POST', '/v1/segment', body, ts, sig, now + 301)).toBe('expired');
    expect(await verifyRequest('s3cret', 'POST', '/v1/segment', body, null, sig, now)).toBe('missing');
    expect(await verifyRequest('s3cret', 'POST', '/v1/segment', body, ts, 'zz', now)).toBe('missing');
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
