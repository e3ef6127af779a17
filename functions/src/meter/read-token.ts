/** Reads (`GET /v1/results/{id}`, `GET /v1/usage`) take a token of the key's read bucket first: 429 + Retry-After when it is empty. */
import type { Context } from 'hono';
import { wrapTime } from 'hono/timing';
import { ApiError } from '../../../contract/errors.js';
import type { AppEnv } from '../env.js';
import type { Admission } from './key-meter.js';
import type { MeterStub } from './meter-stub.js';

export async function admitRead(c: Context<AppEnv>, meter: MeterStub): Promise<void> {
  const { keyId, limits } = c.get('apiKey');
  // The call also carries this isolate's cache hits of the key not booked yet.
  const admission = (await wrapTime(c, 'meter', meter.takeReadToken(limits, c.get('pendingHits').take(keyId)) as Promise<Admission>));
  if (!admission.ok) throw new ApiError(admission.code, admission.message, admission.retryAfterSeconds);
}
