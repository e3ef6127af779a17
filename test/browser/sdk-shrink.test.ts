/**
 * The SDK's small uploads in Debian's Chromium (playwright-core): a page loads the SDK bundle
 * (sdk/build.mjs) and segments a 12 MP photo stored sideways with EXIF orientation 6, from a
 * Blob; the loopback server that stands in for the API records what arrives: an upright JPEG of
 * 2 x the model's input size (createImageBitmap + OffscreenCanvas), with `original_size`.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLUE, near, pixelAt, RED, sidewaysPhoto } from '../helpers/photos.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const RESULT = { id: 'a'.repeat(64), image_id: 'b'.repeat(64), model: 'm@1', width: 3024, height: 4032, results: [], cached: false, timing: { total_ms: 1 } };

let server: Server;
let origin: string;
let browser: Browser;
let photo: Buffer;
const dir = mkdtempSync(join(tmpdir(), 'cris-sdk-browser-'));
const uploads: FormData[] = [];

beforeAll(async () => {
  photo = await sidewaysPhoto(4032, 3024);
  execFileSync(process.execPath, ['sdk/build.mjs', join(dir, 'sdk.js')], { cwd: join(import.meta.dirname, '..', '..') });
  const bundle = readFileSync(join(dir, 'sdk.js'));
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (type: string, body: string | Buffer) => res.writeHead(200, { 'content-type': type }).end(body);
    if (req.url === '/') {
      return send('text/html', `<!doctype html><title>sdk</title><script type="module">import { createClient } from '/sdk.js'; window.createClient = createClient; document.title = 'ready';</script>`);
    }
    if (req.url === '/sdk.js') return send('text/javascript', bundle);
    if (req.url === '/photo.jpg') return send('image/jpeg', photo);
    if (req.url === '/v1/models') return send('application/json', JSON.stringify({ data: [{ id: 'm', version: '1', ref: 'm@1', default: true, input_size: 160 }] }));
    if (req.url === '/v1/segment') {
      const request = new Request('http://api.test/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body: Buffer.concat(chunks) });
      uploads.push(await request.formData());
      return send('application/json', JSON.stringify(RESULT));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('SDK shrinking in Chromium', () => {
  it('uploads an upright JPEG of 320 px on its longer side and the photo size, not the 12 MP photo', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.title === 'ready');
    const answer = await page.evaluate(async () => {
      const { createClient } = window as unknown as { createClient: typeof import('../../sdk/index.js').createClient };
      const blob = await (await fetch('/photo.jpg')).blob();
      const cris = createClient({ endpoint: location.origin, apiKey: 'key' });
      const result = await cris.segment({ image: blob, text: 'the red part' });
      return { id: result.id as string, photoBytes: blob.size };
    });
    expect(answer.id).toBe(RESULT.id);
    expect(uploads).toHaveLength(1);
    const form = uploads[0]!;
    const file = form.get('image') as File;
    const bytes = new Uint8Array(await file.arrayBuffer());
    const meta = await sharp(bytes).metadata();
    expect(file.type).toBe('image/jpeg');
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([240, 320]);
    expect(JSON.parse(String(form.get('original_size')))).toEqual({ width: 3024, height: 4032 });
    expect(near(await pixelAt(bytes, 230, 10), RED)).toBe(true); // EXIF orientation applied
    expect(near(await pixelAt(bytes, 10, 10), BLUE)).toBe(true);
    expect(bytes.length).toBeLessThan(answer.photoBytes / 5);
    await page.close();
  });
});
