/**
 * The build context of `docker build -f gpu-service/Dockerfile .`, computed from the root
 * .dockerignore with Docker's own matching rules (@balena/dockerignore, a port of moby's) over
 * what this checkout holds: tracked files, untracked ones, and ignored files that are present
 * (node_modules, the venv, .local, data...). What the Dockerfile COPYs goes in; nothing else.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import ignore from '@balena/dockerignore';
import { describe, expect, it } from 'vitest';
import { contextCopySources, ROOT } from './dockerfile.js';

const NEVER = ['node_modules', '.venv', '.local', '.cache', '.git', '.wrangler'];
const NEVER_AT_ROOT = ['data', 'runs', 'artifacts', 'dist', 'test', 'functions', 'bench'];

const rules = ignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const exceptions = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((line) => line.startsWith('!')).map((line) => line.slice(1).trim());
const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter(Boolean);

function walk(dir: string): string[] {
  const full = join(ROOT, dir);
  if (!lstatSync(full).isDirectory()) return [dir];
  return readdirSync(full).flatMap((name) => walk(`${dir}/${name}`));
}

/** Every path the client would consider sending, and the ones the rules let through. */
function computeContext() {
  const candidates = [...git('ls-files'), ...git('ls-files', '--others', '--exclude-standard')];
  // ignored things present here; git folds an ignored folder into one entry ("node_modules/")
  const ignoredPresent = git('ls-files', '--others', '--ignored', '--exclude-standard', '--directory').map((p) => p.replace(/\/$/, ''));
  const considered = [...candidates];
  for (const path of ignoredPresent) {
    // like Docker's walker: an excluded folder is skipped whole unless an exception reaches inside
    if (rules.ignores(path) && !exceptions.some((exception) => exception.startsWith(`${path}/`))) considered.push(path);
    else considered.push(...walk(path));
  }
  const included = considered.filter((path) => existsSync(join(ROOT, path)) && !rules.ignores(path));
  return { considered, ignoredPresent, included };
}

const context = computeContext();

describe('docker build context (root .dockerignore)', () => {
  it('holds every source the Dockerfile COPYs', () => {
    const sources = contextCopySources();
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'contract', 'gpu-service', 'models/cris-shapes-s']));
    for (const source of sources) {
      expect(context.included.some((path) => path === source || path.startsWith(`${source}/`)), source).toBe(true);
    }
    for (const file of ['models/cris-shapes-s/manifest.json', 'models/cris-shapes-s/image_encoder.onnx', 'gpu-service/src/main.ts', 'gpu-service/deploy/build.mjs', 'gpu-service/deploy/check-cuda-provider.mjs']) {
      expect(context.included, file).toContain(file);
    }
  });

  it('holds nothing the Dockerfile does not COPY', () => {
    const sources = contextCopySources();
    const stray = context.included.filter((path) => !sources.some((source) => path === source || path.startsWith(`${source}/`)));
    expect(stray).toEqual([]);
  });

  it('never sends dependencies, environments, local state, data or git', () => {
    const offending = context.included.filter((path) => {
      const parts = path.split('/');
      return parts.some((part) => NEVER.includes(part) || part.endsWith('.log')) || NEVER_AT_ROOT.includes(parts[0]);
    });
    expect(offending).toEqual([]);
    // the same rules for paths this checkout may not have (a fresh clone has no .local or data)
    for (const probe of [
      'node_modules/hono/package.json', 'gpu-service/node_modules/x/index.js', 'contract/node_modules/x.js',
      'models/.venv/bin/python', 'gpu-service/.venv/lib/x.py', '.local/keys.json', '.local/s3rver/cris-results/x.json',
      'gpu-service/.local/demo-keys.json', 'data/refcoco/instances.json', '.cache/gpu-run/node.xz',
      'models/cris-shapes-s/.cache/x', '.git/HEAD', 'gpu-service/.git/config', '.wrangler/state/v3/kv', 'runs/a/ckpt.pt',
      'artifacts/x.onnx', 'models/cris-other/image_encoder.onnx', 'test/unit/x.test.ts', 'gpu-service/service.log',
    ]) {
      expect(rules.ignores(probe), probe).toBe(true);
    }
  });

  it('is small: the model bundle and the sources, not the checkout', () => {
    const bytes = context.included.reduce((sum, path) => sum + lstatSync(join(ROOT, path)).size, 0);
    const checkout = context.considered.length;
    console.log(`docker context: ${context.included.length} of ${checkout} paths considered, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    expect(bytes).toBeLessThan(64 * 2 ** 20);
  });
});
