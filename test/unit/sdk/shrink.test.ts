/**
 * The SDK's small uploads in Node (sharp): a 12 MP photo stored sideways with EXIF orientation 6
 * goes up upright, as a JPEG of 2 x the model's input size (GET /v1/models, asked once), with
 * `original_size` of the upright photo; small images, `shrink: false` and `imageId` send what they
 * are given.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../../sdk/index.js';
import { fitWithin, shrinkSide } from '../../../sdk/shrink.js';
import { BLUE, near, pixelAt, RED, sidewaysPhoto } from '../../helpers/photos.js';

const RESULT = { id: 'a'.repeat(64), image_id: 'b'.repeat(64), model: 'm@1', width: 2, height: 2, results: [], cached: false, timing: { total_ms: 1 } };

function capturingClient() {
  const segments: FormData[] = [];
  let modelCalls = 0;
  const fetchImpl = async (url: string | URL | Request, init?: RequestInit) => {
    const path = new URL(String(url)).pathname;
    if (path === '/v1/models') {
      modelCalls += 1;
      return Response.json({ data: [{ id: 'm', version: '1', ref: 'm@1', default: true, input_size: 160 }] });
    }
    segments.push(init!.body as FormData);
    return Response.json(RESULT);
  };
  const client = createClient({ endpoint: 'http://api.test', apiKey: 'k', fetch: fetchImpl as typeof fetch });
  return { client, segments, modelCalls: () => modelCalls };
}

async function uploaded(form: FormData): Promise<Uint8Array> {
  return new Uint8Array(await (form.get('image') as File).arrayBuffer());
}

describe('SDK shrinking in Node (sharp)', () => {
  it('sizes: twice the input size, at least 256; sides rounded with the aspect ratio kept', () => {
    expect(shrinkSide(160)).toBe(320);
    expect(shrinkSide(416)).toBe(832);
    expect(shrinkSide(64)).toBe(256);
    expect(fitWithin({ width: 3024, height: 4032 }, 320)).toEqual({ width: 240, height: 320 });
    expect(fitWithin({ width: 1104, height: 1710 }, 320)).toEqual({ width: 207, height: 320 });
  });

  it('a 12 MP sideways photo goes up upright, 320 px on its longer side, a few KB, with original_size', async () => {
    const photo = await sidewaysPhoto(4032, 3024);
    const { client, segments, modelCalls } = capturingClient();
    await client.segment({ image: photo, text: 'the red part' });
    const [form] = segments;
    const bytes = await uploaded(form!);
    const meta = await sharp(bytes).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([240, 320]);
    expect(meta.orientation ?? 1).toBe(1);
    expect(JSON.parse(String(form!.get('original_size')))).toEqual({ width: 3024, height: 4032 });
    expect(near(await pixelAt(bytes, 230, 10), RED)).toBe(true); // upright: red at the top right
    expect(near(await pixelAt(bytes, 10, 10), BLUE)).toBe(true);
    expect(near(await pixelAt(bytes, 230, 310), BLUE)).toBe(true);
    expect(bytes.length).toBeLessThan(300 * 1024);
    expect(bytes.length).toBeLessThan(photo.length / 5);
    // The input size is asked once per client.
    await client.segment({ image: photo, text: 'again' });
    expect(modelCalls()).toBe(1);
  });

  it('sends small images, shrink: false and imageId as they are', async () => {
    const { client, segments, modelCalls } = capturingClient();
    const small = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#808080' } }).png().toBuffer();
    await client.segment({ image: small, text: 'x' });
    const big = await sidewaysPhoto(1600, 1200);
    await client.segment({ image: big, text: 'x', shrink: false });
    await client.segment({ imageId: 'c'.repeat(64), text: 'x' });
    expect(Buffer.from(await uploaded(segments[0]!)).equals(small)).toBe(true);
    expect(Buffer.from(await uploaded(segments[1]!)).equals(big)).toBe(true);
    for (const form of segments.slice(0, 2)) expect(form.get('original_size')).toBeNull();
    expect(segments[2]!.get('image')).toBeNull();
    expect(segments[2]!.get('image_id')).toBe('c'.repeat(64));
    expect(modelCalls()).toBe(0);
  });

  it('an app that resized the photo itself passes originalSize and the file goes as it is', async () => {
    const { client, segments } = capturingClient();
    const resized = await sharp({ create: { width: 240, height: 320, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    await client.segment({ image: resized, originalSize: { width: 3024, height: 4032 }, text: 'x' });
    expect(Buffer.from(await uploaded(segments[0]!)).equals(resized)).toBe(true);
    expect(JSON.parse(String(segments[0]!.get('original_size')))).toEqual({ width: 3024, height: 4032 });
  });
});
