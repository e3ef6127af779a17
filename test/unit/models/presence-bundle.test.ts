/** The random test bundle with a presence head (models/BUNDLE.md, "Presence") is built by the exporter and passes check_bundle. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { randomSmallPresenceBundle, REPO_ROOT } from '../../helpers/golden.js';

describe('random-small bundle with presence', () => {
  it('declares presence [batch, 1] as the head\'s second output, a presence_threshold, and passes check_bundle', async () => {
    const dir = await randomSmallPresenceBundle();
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.graphs.head.outputs.map((o: { name: string }) => o.name)).toEqual(['logits', 'presence']);
    expect(manifest.graphs.head.outputs[1]).toEqual({ name: 'presence', dtype: 'float32', shape: ['batch', 1] });
    expect(manifest.presence_threshold).toBe(0.5);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'py.mjs'), 'models/export/check_bundle.py', '--bundle', dir],
      { cwd: REPO_ROOT },
    );
    expect(stdout).toContain('all agree');
  }, 600_000);
});
