/**
 * The GPU service's signature check (server/signature.ts: node:crypto, synchronous) answers
 * exactly what the contract's verifyRequest (WebCrypto) answers, for valid requests and for every
 * way one can be wrong: another secret, method, path, body byte, signed header, a timestamp out
 * of the window, missing or malformed headers, a body given as an ArrayBuffer or as a view.
 */
import { describe, expect, it } from 'vitest';
import {
  DEADLINE_HEADER,
  REQUEST_ID_HEADER,
  SIGNATURE_HEADER,
  SIGNATURE_WINDOW_SECONDS,
  TENANT_HEADER,
  TIMESTAMP_HEADER,
  newRequestId,
  signRequest,
  verifyRequest,
  type VerifyInput,
} from '../../../contract/hmac.js';
import { verifySignature } from '../../../gpu-service/src/server/signature.js';

const SECRET = 'signature-test-secret-0123456789';
const NOW = 1_800_000_000;
const BODY = new TextEncoder().encode('--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nthe red circle «ü»\r\n--b--\r\n');

describe('verifySignature (node:crypto) against the contract verifyRequest (WebCrypto)', () => {
  it('gives the same result for valid and for every kind of wrong request', async () => {
    const headers = await signRequest(SECRET, { method: 'POST', path: '/v1/segment', body: BODY, tenant: 'key_Abc123', deadlineMs: NOW * 1000 + 30_000, nowSeconds: NOW });
    const flipped = new Uint8Array(BODY);
    flipped[20] ^= 1;
    // the body as a view into a larger buffer, as the service's parser holds it
    const framed = new Uint8Array(BODY.length + 8);
    framed.set(BODY, 4);
    const base: VerifyInput = { method: 'POST', path: '/v1/segment', body: BODY, headers: { ...headers }, nowSeconds: NOW + 5 };
    const cases: [string, string, VerifyInput][] = [
      ['valid', SECRET, base],
      ['valid, lower-case method, fetch Headers', SECRET, { ...base, method: 'post', headers: new Headers({ ...headers }) }],
      ['valid, body as a view into a larger buffer', SECRET, { ...base, body: framed.subarray(4, 4 + BODY.length) }],
      ['valid, body as an ArrayBuffer', SECRET, { ...base, body: BODY.slice().buffer }],
      ['another secret', 'another-secret-0123456789', base],
      ['another method', SECRET, { ...base, method: 'PUT' }],
      ['another path', SECRET, { ...base, path: '/v1/segments' }],
      ['one body bit', SECRET, { ...base, body: flipped }],
      ['an empty body', SECRET, { ...base, body: new Uint8Array(0) }],
      ['another request id', SECRET, { ...base, headers: { ...headers, [REQUEST_ID_HEADER]: newRequestId() } }],
      ['another tenant', SECRET, { ...base, headers: { ...headers, [TENANT_HEADER]: 'key_Other' } }],
      ['another deadline', SECRET, { ...base, headers: { ...headers, [DEADLINE_HEADER]: `0${headers[DEADLINE_HEADER]}` } }],
      ['another signature', SECRET, { ...base, headers: { ...headers, [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER].replace(/^./, (c) => (c === '0' ? '1' : '0')) } }],
      ['past the window', SECRET, { ...base, nowSeconds: NOW + SIGNATURE_WINDOW_SECONDS + 1 }],
      ['before the window', SECRET, { ...base, nowSeconds: NOW - SIGNATURE_WINDOW_SECONDS - 1 }],
      ['no timestamp', SECRET, { ...base, headers: { ...headers, [TIMESTAMP_HEADER]: undefined } }],
      ['an upper-case signature', SECRET, { ...base, headers: { ...headers, [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER].toUpperCase() } }],
      ['a short signature', SECRET, { ...base, headers: { ...headers, [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER].slice(2) } }],
      ['a forged tenant', SECRET, { ...base, headers: { ...headers, [TENANT_HEADER]: 'key\nforged' } }],
      ['no headers', SECRET, { ...base, headers: {} }],
    ];
    const outcomes: Record<string, unknown> = {};
    for (const [name, secret, input] of cases) {
      const expected = await verifyRequest(secret, input);
      expect(verifySignature(secret, input), name).toEqual(expected);
      outcomes[name] = expected.ok ? 'ok' : expected.failure;
    }
    // the matrix covers every outcome
    expect(new Set(Object.values(outcomes))).toEqual(new Set(['ok', 'mismatch', 'expired', 'missing']));
    expect(outcomes.valid).toBe('ok');
    expect(outcomes['one body bit']).toBe('mismatch');
  });
});
