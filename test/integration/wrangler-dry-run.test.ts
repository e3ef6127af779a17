/**
 * The real `wrangler deploy --dry-run` (offline, no account): without `--env` it builds the dev
 * Worker (loopback upstreams, dev-only secrets as plain vars), never the production one; with
 * `--env production` it builds the production Worker, whose secrets are not vars. Prints the
 * bundle size wrangler reports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const outRoot = mkdtempSync(join(tmpdir(), 'cris-dry-run-'));
afterAll(() => rmSync(outRoot, { recursive: true, force: true }));

function dryRun(envArgs: string[]) {
  const outdir = join(outRoot, envArgs.join('-') || 'top-level');
  const run = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, ...envArgs], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  const output = `${run.stdout}\n${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  expect(run.status, output).toBe(0);
  const vars = Object.fromEntries([...output.matchAll(/^env\.(\w+) \("([^"]*)"\)\s+Environment Variable/gm)].map((m) => [m[1], m[2]]));
  const size = output.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
  expect(size, output).not.toBeNull();
  return { output, vars, totalKiB: Number(size![1]), gzipKiB: Number(size![2]) };
}

describe('wrangler deploy --dry-run', () => {
  it('without --env builds the dev Worker, not production', () => {
    const dev = dryRun([]);
    expect(dev.vars.GPU_SERVICE_URLS).toMatch(/^http:\/\/127\.0\.0\.1/);
    expect(dev.vars.HMAC_SECRET).toBe('dev-only-hmac-secret');
    expect(dev.output).not.toMatch(/gpu-[ab]\.example\.com/);
  });

  it('with --env production builds the production Worker, secrets not among its vars', () => {
    const prod = dryRun(['--env', 'production']);
    expect(prod.vars.GPU_SERVICE_URLS).toMatch(/^https:\/\//);
    expect(prod.vars.S3_ENDPOINT).toMatch(/^https:\/\//);
    for (const secret of ['HMAC_SECRET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) expect(Object.keys(prod.vars)).not.toContain(secret);
    console.log(`production Worker: ${prod.totalKiB} KiB, gzip ${prod.gzipKiB} KiB`);
    // Workers' compressed size limit on the Free plan is 3 MiB (10 MiB on Paid)
    expect(prod.gzipKiB).toBeLessThan(3 * 1024);
  });
});
