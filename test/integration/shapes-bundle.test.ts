// The shipped referring-shapes bundle, evaluated by the eval CLI on 200 freshly generated targets
// (a seed used nowhere else), reaches the mIoU its manifest records, minus 0.05.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../../models/shapes/dataset.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BUNDLE = join(ROOT, 'models', 'cris-shapes-s');
const FRESH_SEED = 777_001;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

describe('models/cris-shapes-s', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('is shipped as a trained bundle with recorded test metrics', async () => {
    expect(existsSync(join(BUNDLE, 'manifest.json'))).toBe(true);
    const manifest = JSON.parse(await readFile(join(BUNDLE, 'manifest.json'), 'utf8'));
    expect(manifest.provenance.source).toBe('trained-referring-shapes');
    expect(manifest.provenance.metrics['referring-shapes-v1/test'].mIoU).toBeGreaterThan(0);
  });

  it('reaches its recorded mIoU - 0.05 on 200 fresh targets through the eval CLI', { timeout: 1_500_000 }, async () => {
    const manifest = JSON.parse(await readFile(join(BUNDLE, 'manifest.json'), 'utf8'));
    const recorded = manifest.provenance.metrics['referring-shapes-v1/test'].mIoU as number;
    const dir = await mkdtemp(join(tmpdir(), 'shapes-bundle-'));
    dirs.push(dir);
    await writeDataset({ out: dir, n: 200, seed: FRESH_SEED, split: 'test' });
    const result = await run('npm', ['run', '-s', 'eval', '--', '--data', dir, '--model', BUNDLE, '--json']);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const metrics = JSON.parse(result.stdout);
    expect(metrics.count).toBeGreaterThanOrEqual(200);
    expect(metrics.mIoU).toBeGreaterThanOrEqual(recorded - 0.05);
  });
});
