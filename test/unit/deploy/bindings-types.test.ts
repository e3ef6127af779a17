/**
 * The edge's `Bindings` type is what wrangler generates from wrangler.toml, never edited by
 * hand: functions/worker-configuration.d.ts must equal a fresh `npm run types:bindings`
 * (the pinned wrangler, offline), regenerated here in a scratch folder that holds a copy of
 * wrangler.toml and links to functions/src (wrangler reads the Durable Object's export there).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const GENERATED = 'functions/worker-configuration.d.ts';
const scratch = mkdtempSync(join(tmpdir(), 'cris-bindings-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The `types:bindings` script of package.json, run with wrangler.toml's text `toml` in a scratch folder. */
async function generate(name: string, toml: string): Promise<string> {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'functions'), { recursive: true });
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  symlinkSync(join(ROOT, 'functions', 'src'), join(dir, 'functions', 'src'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['types:bindings'];
  const [command, ...args] = script.split(' ');
  expect(command).toBe('wrangler');
  await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'wrangler'), args, {
    cwd: dir,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' },
    timeout: 60_000,
  });
  return readFileSync(join(dir, GENERATED), 'utf8');
}

describe('the Bindings type', () => {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');

  it('is the committed output of `npm run types:bindings` for the committed wrangler.toml', async () => {
    const fresh = await generate('fresh', toml);
    expect(fresh, `${GENERATED} is stale: run npm run types:bindings`).toBe(readFileSync(join(ROOT, GENERATED), 'utf8'));
    expect(fresh).toMatch(/interface Bindings extends Cloudflare\.Env/);
  }, 60_000);

  it('would differ once wrangler.toml declares another var (the comparison can fail)', async () => {
    const changed = await generate('changed', toml.replace('[vars]\n', '[vars]\nANOTHER_VAR = "1"\n'));
    expect(changed).toMatch(/ANOTHER_VAR\??: string/);
    expect(changed).not.toBe(readFileSync(join(ROOT, GENERATED), 'utf8'));
  }, 60_000);
});
