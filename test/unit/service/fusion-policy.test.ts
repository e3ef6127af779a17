/** pipeline/fusion-policy.ts: which requests run fused (imaging inside the inference worker). */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { SegmentRequest } from '../../../gpu-service/src/core/jobs.js';
import { FUSE_WHEN_IDLE_MAX_PIXELS, fusionPolicy } from '../../../gpu-service/src/pipeline/fusion-policy.js';

async function request(width: number, height: number): Promise<SegmentRequest> {
  const image = new Uint8Array(await sharp({ create: { width, height, channels: 3, background: '#808080' } }).png().toBuffer());
  return { image, phrases: ['the circle'], options: { format: 'rle' }, resultKey: 'k' };
}

describe('fusionPolicy', () => {
  it('fuses every request when there are no imaging threads, idle or not', async () => {
    const fused = fusionPolicy({ imagingThreads: false, whenIdle: false, idle: () => false });
    expect(fused(await request(4000, 3000))).toBe(true);
  });

  it('never fuses beside imaging threads when CRIS_FUSE_WHEN_IDLE is off', async () => {
    const fused = fusionPolicy({ imagingThreads: true, whenIdle: false, idle: () => true });
    expect(fused(await request(480, 360))).toBe(false);
  });

  it('beside imaging threads, fuses a small image only while the service is idle', async () => {
    let idle = true;
    const fused = fusionPolicy({ imagingThreads: true, whenIdle: true, idle: () => idle });
    const small = await request(1000, FUSE_WHEN_IDLE_MAX_PIXELS / 1000);
    expect(fused(small)).toBe(true);
    idle = false;
    expect(fused(small)).toBe(false);
  });

  it('beside imaging threads, splits an image over the pixel bound and bytes that are no image', async () => {
    const fused = fusionPolicy({ imagingThreads: true, whenIdle: true, idle: () => true });
    expect(fused(await request(1001, FUSE_WHEN_IDLE_MAX_PIXELS / 1000))).toBe(false);
    expect(fused({ ...(await request(8, 8)), image: new Uint8Array([1, 2, 3]) })).toBe(false);
  });
});
