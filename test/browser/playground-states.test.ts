/**
 * The playground's states as a newcomer meets them, in Debian's Chromium (playwright-core) against
 * the local stack, at a desktop (1280x800) and a phone (390x844) size: first load, a result, a
 * phrase that names nothing, switching image, and errors (a refused key, a file that is no image).
 * Each state is asserted (what shows, what is hidden, what is in view, that the mask stands out on
 * its object) and screenshotted: to artifacts/playground/ here and in CI, to docs/playground/ with
 * `netns-run npm run docs:screenshots` (the committed pictures; small palette PNGs).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bitmap } from '../../sdk/index.js';
import { area, expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { ROOT, samples, startStack, TRAINED, type Stack } from '../helpers/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
const SHOTS = process.env.PLAYGROUND_SCREENSHOTS ? resolve(ROOT, process.env.PLAYGROUND_SCREENSHOTS) : join(ROOT, 'artifacts', 'playground');
const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 } },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
} as const;

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ port: 18430 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  mkdirSync(SHOTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The overlay canvas: which pixels are drawn (alpha > 0), and the RGBA of each. */
async function overlay(page: Page): Promise<{ bitmap: Bitmap; rgba: number[]; photo: number[]; fill: string | undefined }> {
  const got = await page.evaluate(() => {
    const canvas = document.getElementById('overlay') as HTMLCanvasElement;
    const photo = document.getElementById('photo') as HTMLCanvasElement;
    const rgba = [...canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data];
    const under = canvas.width === photo.width ? [...photo.getContext('2d')!.getImageData(0, 0, photo.width, photo.height).data] : [];
    return { width: canvas.width, height: canvas.height, rgba, photo: under, fill: canvas.dataset.fill };
  });
  const data = new Uint8Array(got.width * got.height).map((_, i) => (got.rgba[i * 4 + 3]! > 0 ? 1 : 0));
  return { bitmap: { width: got.width, height: got.height, data }, rgba: got.rgba, photo: got.photo, fill: got.fill };
}

async function settle(page: Page): Promise<string> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 120_000 });
  return (await page.evaluate(() => document.body.dataset.state))!;
}

/** Whether the element's whole box is inside the viewport (the person sees it without scrolling). */
function inView(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const box = document.querySelector(sel)!.getBoundingClientRect();
    return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight + 1;
  }, selector);
}

async function shot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot();
  await sharp(png).png({ palette: true, colours: 256, compressionLevel: 9 }).toFile(join(SHOTS, `${name}.png`));
}

async function submit(page: Page): Promise<string> {
  await page.evaluate(() => (document.body.dataset.state = 'switching'));
  await page.click('#run');
  return settle(page);
}

describe.each(Object.entries(SIZES))('playground states at %s size', (size, options) => {
  let context: BrowserContext;
  let page: Page;
  const failed: string[] = [];
  const [first, second] = samples();

  beforeAll(async () => {
    context = await browser.newContext(options);
    page = await context.newPage();
    page.on('pageerror', (error) => failed.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => failed.push(`failed: ${request.url()}`));
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.url().includes('/v1/')) failed.push(`${response.status()}: ${response.url()}`);
    });
  });
  afterAll(async () => context?.close());

  it('first load: form and placeholder only, no stats boxes, a favicon, no failed request', async () => {
    await page.goto(`${stack.origin}/?key=${stack.apiKey}`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    await page.waitForFunction(() => document.images.length >= 4 && [...document.images].every((image) => image.complete && image.naturalWidth > 0));
    expect(await page.isVisible('#stats')).toBe(false);
    expect(await page.isVisible('#stage')).toBe(false);
    expect(await page.isVisible('#placeholder')).toBe(true);
    expect(await page.textContent('#status')).toBe('');
    expect(await page.getAttribute('link[rel=icon]', 'href')).toMatch(/^data:image\/svg\+xml,/);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(options.viewport.width);
    expect(failed).toEqual([]);
    await shot(page, `${size}-first-load`);
  });

  it('result: the mask on the right object, in a contrasting fill with an outline, in view with its stats', async () => {
    await page.click(`button[data-sample="${first!.file}"]`);
    await expect.poll(() => page.inputValue('#phrase')).toBe(first!.phrase);
    expect(await submit(page), (await page.textContent('#status'))!).toBe('done');
    const drawn = await overlay(page);
    expectTarget(drawn.bitmap, await readMaskFile(first!.mask));
    expect(await page.isVisible('#stats')).toBe(true);
    expect(await page.textContent('#found')).toBe(area(drawn.bitmap) > 0 ? 'yes' : 'not found');
    expect(await inView(page, '#stage')).toBe(true); // on a phone the page scrolled to it
    expect(await inView(page, '#status')).toBe(true);
    if (area(drawn.bitmap) > 0) {
      // The fill is far from the object's own colour (mean photo colour under the mask).
      const mean = [0, 1, 2].map((c) => {
        let sum = 0;
        drawn.bitmap.data.forEach((inside, i) => (sum += inside ? drawn.photo[i * 4 + c]! : 0));
        return sum / area(drawn.bitmap);
      });
      const fill = drawn.fill!.split(',').map(Number);
      expect(Math.hypot(...fill.map((v, c) => v - mean[c]!))).toBeGreaterThan(180);
      // The mask's edge pixels are opaque (the outline); the fill inside is translucent.
      const { width, data } = drawn.bitmap;
      const edge = data.findIndex((inside) => inside === 1);
      expect(drawn.rgba[edge * 4 + 3]).toBe(255);
      const inner = data.findIndex((inside, i) => [0, -4 * width, 4 * width, -4, 4].every((step) => data[i + step] === 1));
      if (inner >= 0) expect(drawn.rgba[inner * 4 + 3]).toBeLessThan(255);
    }
    expect(failed).toEqual([]);
    await shot(page, `${size}-result`);
  });

  it('switch image: the previous mask, stats and message are gone', async () => {
    await page.click(`button[data-sample="${second!.file}"]`);
    await expect.poll(() => page.inputValue('#phrase')).toBe(second!.phrase);
    expect(area((await overlay(page)).bitmap)).toBe(0);
    expect(await page.isVisible('#stats')).toBe(false);
    expect(await page.textContent('#status')).toBe('');
    expect(await page.isVisible('#stage')).toBe(true);
    await shot(page, `${size}-switch-image`);
  });

  // The shipped model answers the purple star empty on the first sample (presence threshold 1
  // rules it out for a bundle with a presence output).
  it.skipIf(!TRAINED)('not found: said plainly, nothing drawn, in view', async () => {
    await page.click(`button[data-sample="${first!.file}"]`);
    await expect.poll(() => page.inputValue('#phrase')).toBe(first!.phrase);
    await page.fill('#phrase', 'the purple star');
    await page.fill('#presence-threshold', '1');
    expect(await submit(page)).toBe('done');
    expect(await page.textContent('#status')).toMatch(/^Not found: nothing in this photo matches "the purple star"/);
    expect(await page.textContent('#found')).toBe('not found');
    expect(await page.textContent('#area')).toBe('0 px');
    expect(area((await overlay(page)).bitmap)).toBe(0);
    expect(await inView(page, '#status')).toBe(true);
    await page.fill('#presence-threshold', '');
    await shot(page, `${size}-not-found`);
  });

  it('error: a refused key clears the last mask and stats and says what is wrong, in view', async () => {
    await page.click(`button[data-sample="${first!.file}"]`);
    await expect.poll(() => page.inputValue('#phrase')).toBe(first!.phrase);
    expect(await submit(page)).toBe('done');
    await page.fill('#key', 'cris_test_00000000000000000000000000000000');
    expect(await submit(page)).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^unauthorized: /);
    expect(area((await overlay(page)).bitmap)).toBe(0);
    expect(await page.isVisible('#stats')).toBe(false);
    expect(await inView(page, '#status')).toBe(true);
    await shot(page, `${size}-error`);
    await page.fill('#key', stack.apiKey);
  });

  it('error: a file that is no image gets a plain message, not the decoder\'s exception', async () => {
    await page.evaluate(() => (document.body.dataset.state = 'switching'));
    await page.setInputFiles('#file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are not pixels') });
    expect(await settle(page)).toBe('error');
    const status = (await page.textContent('#status'))!;
    expect(status).toBe('"notes.png" is not an image this browser can open. Choose a JPEG, PNG or WebP photo.');
    expect(status).not.toMatch(/Error|DOMException|decode/);
    expect(await page.isVisible('#stage')).toBe(false);
    expect(await page.isVisible('#stats')).toBe(false);
    expect(await inView(page, '#status')).toBe(true);
    expect(failed).toEqual([]);
  });
});
