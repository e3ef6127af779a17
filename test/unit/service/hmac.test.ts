import { describe, expect, it } from 'vitest';
import { SIGNATURE_WINDOW_SECONDS, signRequest, verifyRequest } from '../../../contract/hmac.js';

const SECRET = 'hmac-test-secret-0123456789';
const BODY = new TextEncoder().encode('--b\r\ncontent\r\n--b--\r\n');
const NOW = 1_800_000_000;

describe('HMAC request signing (edge -> GPU service)', () => {
  it('accepts what it signed, over the same method, path and bytes', async () => {
    const headers = await signRequest(SECRET, 'POST', '/v1/segment', BODY, NOW);
    const result = await verifyRequest(SECRET, 'post', '/v1/segment', BODY, headers['x-cris-timestamp'], headers['x-cris-signature'], NOW + 10);
    expect(result).toBeNull();
  });

  it('rejects another secret, path, method or body byte', async () => {
    const h = await signRequest(SECRET, 'POST', '/v1/segment', BODY, NOW);
    const ts = h['x-cris-timestamp'];
    const sig = h['x-cris-signature'];
    const flipped = new Uint8Array(BODY);
    flipped[3] ^= 1;
    expect(await verifyRequest('other-secret-0123456789', 'POST', '/v1/segment', BODY, ts, sig, NOW)).toBe('mismatch');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segments', BODY, ts, sig, NOW)).toBe('mismatch');
    expect(await verifyRequest(SECRET, 'PUT', '/v1/segment', BODY, ts, sig, NOW)).toBe('mismatch');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', flipped, ts, sig, NOW)).toBe('mismatch');
  });

  it('rejects a timestamp outside the window, and missing or malformed headers', async () => {
    const h = await signRequest(SECRET, 'POST', '/v1/segment', BODY, NOW);
    const ts = h['x-cris-timestamp'];
    const sig = h['x-cris-signature'];
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', BODY, ts, sig, NOW + SIGNATURE_WINDOW_SECONDS + 1)).toBe('expired');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', BODY, ts, sig, NOW - SIGNATURE_WINDOW_SECONDS - 1)).toBe('expired');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', BODY, null, sig, NOW)).toBe('missing');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', BODY, ts, undefined, NOW)).toBe('missing');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', BODY, ts, sig.toUpperCase(), NOW)).toBe('missing');
    expect(await verifyRequest(SECRET, 'POST', '/v1/segment', BODY, ts, sig.slice(2), NOW)).toBe('missing');
  });
});
