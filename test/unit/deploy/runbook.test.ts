/**
 * docs/DEPLOY.md stays true to the repository: the README links it, every wrangler command that
 * touches the account names `--env production`, the files it applies exist, its links resolve.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './dockerfile.js';

const RUNBOOK = join(ROOT, 'docs', 'DEPLOY.md');
const text = readFileSync(RUNBOOK, 'utf8');
const shellLines = [...text.matchAll(/^ *```sh\n([\s\S]*?)^ *```$/gm)].flatMap((m) => m[1]!.replace(/\\\n\s*/g, ' ').split('\n')).map((l) => l.trim()).filter(Boolean);
const anchor = (heading: string) => heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-');

describe('docs/DEPLOY.md', () => {
  it('is linked from the README', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('(docs/DEPLOY.md)');
  });

  it('targets production explicitly in every wrangler command that changes the account', () => {
    const wrangler = shellLines.filter((line) => /npx wrangler (deploy|secret|rollback|deployments|kv)/.test(line));
    expect(wrangler.length).toBeGreaterThanOrEqual(8);
    for (const line of wrangler) expect(line, line).toContain('--env production');
    expect(shellLines.some((line) => /npx wrangler rollback/.test(line))).toBe(true);
    expect(shellLines.some((line) => /kubectl -n cris rollout undo deploy\/cris-gpu-service/.test(line))).toBe(true);
  });

  it('names files that exist and links that resolve', () => {
    const paths = [...text.matchAll(/(?:-f |@|`)((?:gpu-service|functions|sdk|docs|test)\/[\w./-]+?)(?=[`\s]|$)/gm)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThanOrEqual(8);
    for (const path of paths) expect(existsSync(join(ROOT, path)), path).toBe(true);
    for (const [, target, hash] of text.matchAll(/\]\((\.\.\/[^)#]+)(?:#([^)]+))?\)/g)) {
      const file = join(dirname(RUNBOOK), target!);
      expect(existsSync(file), target).toBe(true);
      if (hash) {
        const headings = [...readFileSync(file, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]!));
        expect(headings, `${target}#${hash}`).toContain(hash);
      }
    }
  });
});
