/**
 * `npm start` as a user runs it, on a non-default PORT: it reaches ready, the curl it prints returns
 * a mask of the sample's target, and SIGTERM stops every process it started.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeRle, type SegmentResult } from '../../sdk/index.js';
import { commandLine, descendants, isRunning } from '../helpers/stack-processes.js';
import { area, expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { ROOT, samples, startStack, type Stack } from '../helpers/stack.js';

const PORT = 18300;
let stack: Stack | undefined;

afterAll(async () => {
  await stack?.stop();
});

describe('npm start', () => {
  it('prints a playground URL, a demo key and a curl that returns a mask; SIGTERM stops everything', async () => {
    stack = await startStack({ port: PORT, viaNpm: true });
    const output = stack.output();
    expect(output).toContain(`http://127.0.0.1:${PORT}/?key=${stack.apiKey}`);
    expect(stack.apiKey).toMatch(/^cris_(live|test)_[A-Za-z0-9]{32}$/);
    expect(stack.curl).toContain(`http://127.0.0.1:${PORT}/v1/segment`);

    // The playground page is served by the edge.
    const page = await fetch(`${stack.origin}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('CRIS playground');

    // Paste the curl into a shell, as a user would.
    const { stdout } = await promisify(execFile)('bash', ['-c', stack.curl], { cwd: ROOT, maxBuffer: 16 << 20 });
    const result = JSON.parse(stdout) as SegmentResult;
    const [sample] = samples();
    expect(result.results).toHaveLength(1);
    const phrase = result.results[0]!;
    expect(phrase.text).toBe(sample!.phrase);
    expect(phrase.mask.format).toBe('rle');
    if (phrase.mask.format !== 'rle') return;
    const mask = decodeRle(phrase.mask);
    const target = await readMaskFile(sample!.mask);
    expect(area(mask)).toBe(phrase.area);
    expectTarget(mask, target);

    // Every process npm start started (service, wrangler, workerd...) goes away on SIGTERM.
    const npmPid = stack.process.pid!;
    const started = descendants(npmPid);
    expect(started.map(commandLine).join('\n')).toMatch(/wrangler/);
    expect(started.map(commandLine).join('\n')).toMatch(/gpu-service\/src\/main\.ts/);
    const exited = new Promise<number | null>((resolve) => stack!.process.once('exit', (code) => resolve(code)));
    stack.process.kill('SIGTERM');
    await exited;
    await expect
      .poll(() => started.filter(isRunning).map((pid) => `${pid} ${commandLine(pid)}`), { timeout: 20_000, interval: 250 })
      .toEqual([]);
    const down = await fetch(`${stack.origin}/healthz`).then(() => 'up', () => 'down');
    expect(down).toBe('down');
  });
});
