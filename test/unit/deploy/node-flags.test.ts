/**
 * The service's Node flags (gpu-service/node-flags.json) are the ones every launcher uses: the
 * Dockerfile's CMDs (CPU and GPU images), `npm run service`, `npm start` and the test/bench
 * launcher; main() warns when they are missing (a real process started with and without).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingNodeFlags, SERVICE_NODE_FLAGS } from '../../../gpu-service/src/boot/node-flags.js';
import { dockerfile, ROOT } from './dockerfile.js';

describe('service node flags', () => {
  it('are a non-empty list of node/V8 flags', () => {
    expect(SERVICE_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of SERVICE_NODE_FLAGS) expect(flag).toMatch(/^--[a-z][a-z0-9-]*(=\S+)?$/);
  });

  it('start both images: every CMD is node, the flags, the bundled main', () => {
    const cmds = dockerfile.getInstructions().filter((i) => i.getKeyword() === 'CMD');
    expect(cmds).toHaveLength(2);
    for (const cmd of cmds) {
      expect(JSON.parse(cmd.getRawArgumentsContent()!)).toEqual(['node', ...SERVICE_NODE_FLAGS, 'dist/gpu-service/main.mjs']);
    }
  });

  it('start `npm run service` and `npm start`', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.service).toBe(['node', ...SERVICE_NODE_FLAGS, '--import tsx gpu-service/src/main.ts'].join(' '));
    expect(readFileSync(join(ROOT, 'scripts', 'start.mjs'), 'utf8')).toMatch(/\[\.\.\.nodeFlags, '--import', 'tsx', 'gpu-service\/src\/main\.ts'\]/);
    expect(readFileSync(join(ROOT, 'test', 'helpers', 'service-process.ts'), 'utf8')).toContain('...SERVICE_NODE_FLAGS,');
  });

  it('are reported missing by name, and not when given', () => {
    expect(missingNodeFlags([])).toEqual([...SERVICE_NODE_FLAGS]);
    expect(missingNodeFlags([...SERVICE_NODE_FLAGS, '--import', 'tsx'])).toEqual([]);
  });

  it('are accepted by this node', () => {
    const run = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
