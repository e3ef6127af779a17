/**
 * `cris segment` (cli/cris.mjs, what `npx cris` runs): --local runs the bundle in-process with no
 * servers; the endpoint mode goes through the local stack. Both write the mask and an overlay.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { area, expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { ROOT, samples, startStack, TEST_BUNDLE_DIR, TRAINED, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'cli', 'cris.mjs');
const out = mkdtempSync(join(tmpdir(), 'cris-cli-'));
const [sample] = samples();
let stack: Stack | undefined;

afterAll(async () => {
  await stack?.stop();
  rmSync(out, { recursive: true, force: true });
});

async function expectOutputs(prefix: string): Promise<void> {
  const target = await readMaskFile(sample!.mask);
  const mask = await readMaskFile(join(out, `${prefix}-mask.png`));
  expectTarget(mask, target);
  const overlay = await sharp(join(out, `${prefix}-overlay.png`)).metadata();
  expect([overlay.width, overlay.height]).toEqual([target.width, target.height]);
  // the overlay differs from the photo inside the mask only
  const photo = await sharp(sample!.image).removeAlpha().raw().toBuffer();
  const drawn = await sharp(join(out, `${prefix}-overlay.png`)).removeAlpha().raw().toBuffer();
  let changedInside = 0;
  let changedOutside = 0;
  for (let i = 0; i < mask.data.length; i++) {
    const changed = photo[i * 3] !== drawn[i * 3] || photo[i * 3 + 1] !== drawn[i * 3 + 1] || photo[i * 3 + 2] !== drawn[i * 3 + 2];
    if (changed && mask.data[i]) changedInside++;
    if (changed && !mask.data[i]) changedOutside++;
  }
  expect(changedOutside).toBe(0);
  expect(changedInside).toBeGreaterThan(area(mask) / 2);
}

describe('cris CLI', () => {
  it('--local segments with the bundle in-process and writes the mask and the overlay', async () => {
    const { stdout } = await run(process.execPath, [
      CLI, 'segment', sample!.image, sample!.phrase, '--local', '--bundle', TEST_BUNDLE_DIR,
      '--out', join(out, 'local-mask.png'), '--overlay', join(out, 'local-overlay.png'),
    ], { cwd: ROOT });
    expect(stdout).toContain(`"${sample!.phrase}": score`);
    await expectOutputs('local');
  });

  it('--json prints the whole typed result', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'segment', sample!.image, sample!.phrase, 'the smallest shape', '--local', '--bundle', TEST_BUNDLE_DIR, '--json', '--format', 'rle'], { cwd: ROOT });
    const result = JSON.parse(stdout);
    expect(result.results.map((r: { text: string }) => r.text)).toEqual([sample!.phrase, 'the smallest shape']);
    expect(result.results[0].mask.format).toBe('rle');
  });

  // As in the SDK test: nothing in the first sample is a purple star.
  it.skipIf(!TRAINED)('prints "not found" plainly for a phrase that names nothing; the --out mask is empty', async () => {
    const { stdout } = await run(process.execPath, [
      CLI, 'segment', sample!.image, 'the purple star', '--local', '--bundle', TEST_BUNDLE_DIR, '--presence-threshold', '1',
      '--out', join(out, 'not-found.png'),
    ], { cwd: ROOT });
    expect(stdout).toMatch(/^"the purple star": not found( \(presence \d\.\d{3}\))?$/m);
    const mask = await readMaskFile(join(out, 'not-found.png'));
    expect([mask.width, mask.height, area(mask)]).toEqual([(await readMaskFile(sample!.mask)).width, (await readMaskFile(sample!.mask)).height, 0]);
    await expect(run(process.execPath, [CLI, 'segment', sample!.image, 'x', '--presence-threshold', '2', '--local'], { cwd: ROOT })).rejects.toMatchObject({ code: 2 });
  });

  it('rejects bad usage with exit code 2 and a missing key with 1', async () => {
    await expect(run(process.execPath, [CLI, 'segment', sample!.image], { cwd: ROOT })).rejects.toMatchObject({ code: 2 });
    await expect(run(process.execPath, [CLI, 'segment', sample!.image, 'x', '--format', 'gif', '--local'], { cwd: ROOT })).rejects.toMatchObject({ code: 2 });
    const noKey = run(process.execPath, [CLI, 'segment', sample!.image, 'x', '--endpoint', 'http://127.0.0.1:9'], { cwd: ROOT, env: { ...process.env, CRIS_API_KEY: '' } });
    await expect(noKey).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/API key/) });
  });

  it('calls the API with --endpoint and --key', async () => {
    stack = await startStack({ port: 18340 });
    const { stdout } = await run(process.execPath, [
      CLI, 'segment', sample!.image, sample!.phrase, '--endpoint', stack.origin, '--key', stack.apiKey,
      '--out', join(out, 'remote-mask.png'), '--overlay', join(out, 'remote-overlay.png'),
    ], { cwd: ROOT });
    const { width, height } = await readMaskFile(sample!.mask);
    expect(stdout).toMatch(new RegExp(`^[a-z0-9-]+@[0-9][^,]*, ${width}x${height}, \\d+ ms`, 'm'));
    await expectOutputs('remote');
  });
});
