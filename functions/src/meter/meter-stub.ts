/** The KeyMeter Durable Object of a key, every call under the configured meter timeout. */
import type { EdgeConfig } from '../env.js';
import { timedMethods } from '../http/timeout.js';
import type { KeyMeter } from './key-meter.js';

export type MeterStub = DurableObjectStub<KeyMeter>;

export function keyMeterStub(env: Bindings, config: EdgeConfig, keyId: string): MeterStub {
  const stub = env.KEY_METER.get(env.KEY_METER.idFromName(keyId));
  return timedMethods(stub, config.timeouts.meterMs, 'The usage meter');
}
