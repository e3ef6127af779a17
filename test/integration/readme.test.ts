/**
 * The README runs as written: its SDK example is sdk/examples/segment.ts verbatim and runs against
 * the local stack with the command the README gives; every curl example that uses $KEY answers
 * (port and key substituted, nothing else); its sample answer is the real answer to the curl
 * above it (ids, times and shortening aside: test/helpers/readme-sample.ts), and what it says of
 * the shipped bundle's input size is the manifest's. `npm run docs:readme-sample` (this test with
 * UPDATE_README_SAMPLE=1) rewrites the sample answer from a real one.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asShown, comparable, formatSample } from '../helpers/readme-sample.js';
import { readMaskFile } from '../helpers/stack-masks.js';
import { createKey, ROOT, samples, startStack, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const README_PATH = join(ROOT, 'README.md');
const README = readFileSync(README_PATH, 'utf8');
const SHIPPED_BUNDLE = join(ROOT, 'models', 'cris-shapes-s');
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

  it('includes sdk/examples/async.ts verbatim, and it runs as the README says (202, then polled)', async () => {
    const example = readFileSync(join(ROOT, 'sdk', 'examples', 'async.ts'), 'utf8');
    expect(blocks('ts')).toContain(example);
    const runLine = /^Run it: `([^`]*sdk\/examples\/async\.ts[^`]*)`/m.exec(README)?.[1];
    expect(runLine).toBeDefined();
    const [, second] = samples(); // a scene the other example did not ask about: computed in the background
    const { stdout } = await shell(runLine!.replace(/functions\/public\/samples\/\S+ "[^"]+"/, `functions/public/samples/${second!.file} "${second!.phrase}"`), { KEY: stack.apiKey, CRIS_ENDPOINT: stack.origin });
    expect(stdout).toMatch(/^computed in the background: result [0-9a-f]{64}, \d+ px$/m);
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

  it('shows the real answer to the curl above its sample answer', async () => {
    const json = /^```json\n([\s\S]*?)^```$/m.exec(README)!;
    const before = README.slice(0, json.index);
    const curl = commands(before.slice(before.lastIndexOf('```sh\n') + 6, before.lastIndexOf('```'))).find((line) => line.startsWith('curl'));
    expect(curl).toContain('$KEY');
    // A key of its own: answers are cached per key, and the README shows a first answer.
    const real = asShown(JSON.parse((await shell(curl!, { KEY: await createKey(stack, 'pro') })).stdout));
    if (process.env.UPDATE_README_SAMPLE === '1') {
      const current = readFileSync(README_PATH, 'utf8');
      writeFileSync(README_PATH, current.replace(json[1]!, formatSample(real)));
      return;
    }
    expect(comparable(JSON.parse(json[1]!)), 'README sample answer: run npm run docs:readme-sample').toEqual(comparable(real));
    expect(json[1]).toBe(formatSample({ ...real, timing: JSON.parse(json[1]!).timing }));
  });

  it("states the shipped bundle's input size as its manifest does", () => {
    const manifest = JSON.parse(readFileSync(join(SHIPPED_BUNDLE, 'manifest.json'), 'utf8')) as { id: string; input: { size: number } };
    expect(README).not.toMatch(/letterbox \d+/);
    expect(README).toContain(`letterbox to the bundle's input (${manifest.input.size} px for ${manifest.id})`);
    expect(README).toContain(`input ${manifest.input.size};`);
  });
});
