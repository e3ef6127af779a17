/**
 * contract/hmac.ts's verifyRequest, the MAC computed with node:crypto: synchronous, no WebCrypto
 * jobs on the thread pool and no promises per request. The headers, the window and the signed
 * message are the contract's (readSignature); the comparison is constant-time (timingSafeEqual).
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { readSignature, type VerifyInput, type VerifyResult } from '../../../contract/hmac.js';

export function verifySignature(secret: string, input: VerifyInput): VerifyResult {
  const read = readSignature(input);
  if (!read.ok) return read;
  const { claim } = read;
  const body = input.body instanceof Uint8Array ? input.body : new Uint8Array(input.body);
  const expected = createHmac('sha256', secret).update(claim.message(hash('sha256', body, 'hex'))).digest();
  return timingSafeEqual(expected, claim.mac) ? { ok: true, context: claim.context, timestampSeconds: claim.timestampSeconds } : { ok: false, failure: 'mismatch' };
}
