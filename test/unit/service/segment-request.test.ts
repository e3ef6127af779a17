/**
 * The `options` field's quick check (segment-request.ts plainOptions) against the schema it
 * shortcuts: whatever it accepts, OptionsFieldSchema accepts with the very same value; the
 * options the edge sends are taken by it (so the schema is not run for them); anything else,
 * what the schema refuses included, is left to the schema (its errors unchanged: server.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { OptionsFieldSchema, plainOptions } from '../../../gpu-service/src/server/segment-request.js';

const KEY = 'a'.repeat(64);

/** Every combination of these values for the four common fields (absent included), and some others. */
function candidates(): unknown[] {
  const formats = [undefined, 'polygon', 'rle', 'png', 'svg', 'RLE', '', 1, null];
  const thresholds = [undefined, 0.35, 0.999, 1e-9, 0, 1, -0.2, 1.5, '0.5', null, 1e999, -1e999];
  const presence = [undefined, 0, -0, 0.5, 1, -0.01, 1.01, '1', null, 1e999];
  const keys = [undefined, KEY, 'A'.repeat(64), 'a'.repeat(63), 7, null];
  const out: unknown[] = [];
  for (const format of formats)
    for (const threshold of thresholds)
      for (const presence_threshold of presence)
        for (const resultKey of keys) {
          const value: Record<string, unknown> = {};
          if (format !== undefined) value.format = format;
          if (threshold !== undefined) value.threshold = threshold;
          if (presence_threshold !== undefined) value.presence_threshold = presence_threshold;
          if (resultKey !== undefined) value.resultKey = resultKey;
          out.push(value);
        }
  out.push(
    null,
    [],
    'rle',
    3,
    { format: 'rle', extra: 1 },
    { format: 'rle', original_size: { width: 10, height: 20 } },
    { format: 'rle', storeImage: { key: `images/t/${KEY}`, expiresAt: 5 } },
    JSON.parse('{"__proto__": {"format": "png"}}'),
    JSON.parse('{"format": "png", "format": "rle"}'),
  );
  return out;
}

describe('plainOptions, the quick check of the options field', () => {
  it('gives exactly what the schema gives whenever it answers, and leaves the rest to the schema', () => {
    let taken = 0;
    for (const value of candidates()) {
      const quick = plainOptions(value);
      if (quick === undefined) continue;
      taken++;
      const parsed = OptionsFieldSchema.safeParse(value);
      expect(parsed.success, JSON.stringify(value)).toBe(true);
      expect(quick, JSON.stringify(value)).toStrictEqual(parsed.data);
    }
    expect(taken).toBeGreaterThan(100);
  });

  it('takes the options the edge and the SDK send', () => {
    for (const value of [{}, { format: 'rle' }, { format: 'polygon', threshold: 0.4, resultKey: KEY }, { format: 'png', presence_threshold: 0.5, resultKey: KEY }]) {
      expect(plainOptions(value), JSON.stringify(value)).toStrictEqual(OptionsFieldSchema.parse(value));
    }
  });
});
