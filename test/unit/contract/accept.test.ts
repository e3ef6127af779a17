import { describe, expect, it } from 'vitest';
import { acceptQuality, acceptsPng } from '../../../contract/index.js';

describe('Accept negotiation (contract/accept.ts, used by the edge and the GPU service)', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['application/json', false],
    ['image/png', true],
    ['IMAGE/PNG', true],
    ['image/png;q=0', false],
    ['image/png; q=0.0, */*', false],
    ['image/png;q=0.5, application/json', false],
    ['image/png, application/json;q=0.9', true],
    ['application/json;q=0.9, image/png', true],
    ['image/png, application/json', true],
    ['image/png;q=0.4, */*;q=0.1', true],
    ['image/*', true],
    ['image/*;q=0.5, application/json', false],
    ['image/png;q=2', false],
    ['image/png;q=abc, application/json', false],
  ] as const)('%s -> PNG %s', (accept, png) => {
    expect(acceptsPng(accept)).toBe(png);
  });

  it('takes the most specific range, whatever the order', () => {
    expect(acceptQuality('image/png;q=0.3, image/*;q=0.9, */*;q=0.1', 'image/png')).toBe(0.3);
    expect(acceptQuality('*/*;q=0.1, image/*;q=0.9', 'image/png')).toBe(0.9);
    expect(acceptQuality('text/html', 'image/png')).toBe(0);
  });
});
