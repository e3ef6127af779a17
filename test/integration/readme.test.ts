/**
 * The README runs as written: its SDK example is sdk/examples/segment.ts verbatim and runs against
 * the local stack with the command the README gives; every curl example that uses $KEY answers
 * (port and key substituted, nothing else).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMaskFile } from '../helpers/stack-masks.js';
import { ROOT, samples, startStack, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PORT = 18360;
let stack: Stack;

/** Fenced code blocks of one language. */
function blocks(language: string): string[] {
  return [...README.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))].map((match) => match[1]!);
}

/** The commands of a shell block: continuation lines joined, comments and `export` lines dropped. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('export '));
}

function shell(command: string, env: Record<string, string>) {
  const local = command.replaceAll('127.0.0.1:8787', `127.0.0.1:${PORT}`);
  return run('bash', ['-euo', 'pipefail', '-c', local], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 32 << 20 });
}

beforeAll(async () => {
  stack = await startStack({ port: PORT });
});

afterAll(async () => {
  rmSync(join(ROOT, 'mask.png'), { force: true });
  await stack?.stop();
});

describe('README', () => {
  it('names exactly the two commands', () => {
    const [first] = blocks('sh');
    expect(commands(first!).map((line) => line.replace(/\s+#.*$/, ''))).toEqual(['npm start', 'npm test']);
  });

  it('includes sdk/examples/segment.ts verbatim, and the example runs as the README says', async () => {
    const example = readFileSync(join(ROOT, 'sdk', 'examples', 'segment.ts'), 'utf8');
    expect(blocks('ts')).toContain(example);
    const runLine = /^Run it: `([^`]+)`/m.exec(README)?.[1];
    expect(runLine).toMatch(/sdk\/examples\/segment\.ts/);
    const [sample] = samples();
    expect(runLine).toContain(`functions/public/samples/${sample!.file} "${sample!.phrase}"`);
    const { stdout } = await shell(runLine!, { KEY: stack.apiKey, CRIS_ENDPOINT: stack.origin });
    const { width, height } = await readMaskFile(sample!.mask);
    expect(stdout).toContain(`"${sample!.phrase}": score `);
    expect(stdout).toMatch(/^".+": score \d\.\d\d, bbox \d+,\d+,\d+,\d+, \d+ px$/m);
    expect(stdout).toMatch(new RegExp(`^mask ${width}x${height}, result [0-9a-f]{64}, cached (true|false), [\\d.]+ ms$`, 'm'));
  });

  it('every curl example that uses $KEY answers without an error', async () => {
    const curls = blocks('sh').flatMap(commands).filter((line) => line.startsWith('curl') && line.includes('$KEY'));
    expect(curls.length).toBeGreaterThanOrEqual(6);
    // $ID and $IMAGE_ID: the id and image_id of an earlier answer, as the README says
    const first = JSON.parse((await shell(curls[0]!, { KEY: stack.apiKey })).stdout) as { id: string; image_id: string };
    const env = { KEY: stack.apiKey, ID: first.id, IMAGE_ID: first.image_id };
    rmSync(join(ROOT, 'mask.png'), { force: true });
    for (const curl of curls) {
      const { stdout } = await shell(`${curl} -w '\\n%{http_code}'`, env);
      const status = stdout.slice(stdout.lastIndexOf('\n') + 1);
      expect(status, curl).toBe('200');
      const body = stdout.slice(0, stdout.lastIndexOf('\n'));
      if (curl.includes('-o mask.png')) {
        expect(existsSync(join(ROOT, 'mask.png'))).toBe(true);
        expect(readFileSync(join(ROOT, 'mask.png')).subarray(1, 4).toString()).toBe('PNG');
        continue;
      }
      const answer = JSON.parse(body) as Record<string, unknown>;
      expect(answer.error, curl).toBeUndefined();
      if (curl.includes('/v1/segment')) expect(Array.isArray(answer.results), curl).toBe(true);
    }
  });
});
