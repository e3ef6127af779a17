/**
 * The playground in Debian's Chromium (playwright-core, no downloaded browser) against the local
 * stack: pick a sample scene, segment it, check that the overlay canvas covers the sample's target
 * object (IoU with its known mask), switch mask formats, and save a phone-sized screenshot to
 * artifacts/playground.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bitmap } from '../../sdk/index.js';
import { area, bitmapIoU, expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { ROOT, samples, startStack, TRAINED, type Stack } from '../helpers/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
const SCREENSHOT = join(ROOT, 'artifacts', 'playground.png');

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack({ port: 18320 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  // A phone-sized viewport (iPhone 12-14 class).
  page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  page.on('pageerror', (error) => console.error('page error:', error));
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The overlay canvas as a bitmap: a pixel is "drawn" when its alpha is not zero. */
async function overlayBitmap(): Promise<Bitmap> {
  const { width, height, bits } = await page.evaluate(() => {
    const canvas = document.getElementById('overlay') as HTMLCanvasElement;
    const rgba = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let bits = '';
    for (let i = 3; i < rgba.length; i += 4) bits += rgba[i] ? '1' : '0';
    return { width: canvas.width, height: canvas.height, bits };
  });
  return { width, height, data: Uint8Array.from(bits, (bit) => (bit === '1' ? 1 : 0)) };
}

async function waitForResult(): Promise<void> {
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 120_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  const status = await page.textContent('#status');
  expect(state, `playground status: ${status}`).toBe('done');
}

describe('playground', () => {
  const [sample] = samples();

  it('segments a sample scene and draws the mask over the right object', async () => {
    await page.goto(`${stack.origin}/?key=${stack.apiKey}`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    expect(await page.inputValue('#key')).toBe(stack.apiKey);
    // the page fits a phone: no horizontal scrolling
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await page.click(`button[data-sample="${sample!.file}"]`);
    await expect.poll(() => page.inputValue('#phrase')).toBe(sample!.phrase);
    await page.click('#run');
    await waitForResult();

    const target = await readMaskFile(sample!.mask);
    const drawn = await overlayBitmap();
    expect(area(drawn)).toBeGreaterThan(0);
    expectTarget(drawn, target);
    expect(await page.textContent('#cached')).toBe('no');
    expect(Number(await page.textContent('#score'))).toBeGreaterThan(0);
    expect(await page.textContent('#timing')).toMatch(/^\d+ ms$/);

    mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
    await page.locator('#stage').scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows the cached flag on a repeat and draws the same mask in every format', async () => {
    const target = await readMaskFile(sample!.mask);
    await page.click('#run');
    await waitForResult();
    expect(await page.textContent('#cached')).toBe('yes');
    const polygon = await overlayBitmap();

    const drawnIn: Record<string, Bitmap> = {};
    for (const format of ['rle', 'png'] as const) {
      await page.evaluate(() => (document.body.dataset.state = 'switching'));
      await page.selectOption('#format', format); // the page re-runs on a format change
      await waitForResult();
      expect(await page.textContent('#status')).toContain(`(${format})`);
      drawnIn[format] = await overlayBitmap();
      expectTarget(drawnIn[format]!, target);
    }
    // RLE, PNG and polygons (which hold exactly the mask's pixel centres) carry the same pixels
    expect(bitmapIoU(drawnIn.rle!, drawnIn.png!)).toBe(1);
    expect(bitmapIoU(polygon, drawnIn.rle!)).toBe(1);
  });

  it('segments a photo chosen with the file picker', async () => {
    const [, chosen] = samples();
    await page.setInputFiles('#file', chosen!.image);
    await expect.poll(() => page.textContent('#drop-text')).toBe(chosen!.file);
    await page.fill('#phrase', chosen!.phrase);
    await page.selectOption('#format', 'polygon');
    await page.click('#run');
    await waitForResult();
    expectTarget(await overlayBitmap(), await readMaskFile(chosen!.mask));
  });

  // As in the SDK test: the phrase names nothing in the first sample, and presence threshold 1
  // rules it out for a bundle with a presence output (the shipped one without answers it empty).
  it.skipIf(!TRAINED)('says "not found" plainly for a phrase that names nothing, and draws nothing', async () => {
    await page.click(`button[data-sample="${sample!.file}"]`);
    await expect.poll(() => page.inputValue('#phrase')).toBe(sample!.phrase);
    await page.fill('#phrase', 'the purple star');
    await page.fill('#presence-threshold', '1');
    await page.selectOption('#format', 'polygon');
    for (const format of ['polygon', 'rle', 'png'] as const) {
      await page.evaluate(() => (document.body.dataset.state = 'switching'));
      if (format === 'polygon') await page.click('#run');
      else await page.selectOption('#format', format); // the page re-runs on a format change
      await waitForResult();
      expect(await page.textContent('#status')).toMatch(new RegExp(`^Not found: nothing in this photo matches "the purple star" \\(${format}\\)`));
      expect(await page.textContent('#found')).toBe('not found');
      expect(await page.textContent('#area')).toBe('0 px');
      const drawn = await overlayBitmap();
      expect(drawn.width).toBeGreaterThan(0);
      expect(area(drawn)).toBe(0);
    }
    await page.fill('#presence-threshold', '');
  });

  it('says what is wrong when the key is refused', async () => {
    await page.fill('#key', 'cris_test_00000000000000000000000000000000');
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''));
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^(unauthorized|forbidden|key_disabled): /);
  });
});
