// `npm test [-- SUITE...]`: installs what is missing, then runs every suite in order and ends
// with one line `total: N passed, N failed, N skipped`. Suites: typecheck unit edge python
// integration browser.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNodeModules, ensurePython, projectEnv, ROOT, VENV_PYTHON } from './ensure.mjs';

const vitest = join(ROOT, 'node_modules', '.bin', 'vitest');
const SUITES = [
  { name: 'typecheck', cmd: 'npm', args: ['run', '-s', 'typecheck'] },
  { name: 'unit', cmd: vitest, args: ['run', '--project', 'unit'], dir: 'test/unit' },
  { name: 'edge', cmd: vitest, args: ['run', '--config', 'test/edge/vitest.config.ts'], dir: 'test/edge/vitest.config.ts' },
  { name: 'python', cmd: VENV_PYTHON, args: ['-m', 'pytest', '-q', 'test/python'], dir: 'test/python', python: true },
  { name: 'integration', cmd: vitest, args: ['run', '--project', 'integration'], dir: 'test/integration' },
  { name: 'browser', cmd: vitest, args: ['run', '--project', 'browser'], dir: 'test/browser' },
];

function runSuite(suite) {
  return new Promise((resolvePromise) => {
    const child = spawn(suite.cmd, suite.args, {
      cwd: ROOT,
      env: projectEnv({ PYTHONPATH: ROOT, PYTHONUNBUFFERED: '1', NO_COLOR: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const relay = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on('data', relay(process.stdout));
    child.stderr.on('data', relay(process.stderr));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/** Counts from vitest's "Tests  3 passed | 1 failed (4)" or pytest's "3 passed, 1 failed in 2s". */
function counts(rawOutput) {
  const output = rawOutput.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (word) => {
    const vitestLine = output.match(/^\s*Tests\s+(.*)$/m);
    const pytestLine = output.match(/^=* ?((?:\d+ \w+,? ?)+) in [0-9.]+s/m);
    const source = vitestLine ? vitestLine[1] : (pytestLine?.[1] ?? '');
    return Number(source.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  };
  return { passed: count('passed'), failed: count('failed') + count('error'), skipped: count('skipped') };
}

const wanted = process.argv.slice(2);
ensureNodeModules();
const total = { passed: 0, failed: 0, skipped: 0 };
const failedSuites = [];
for (const suite of SUITES) {
  if (wanted.length > 0 && !wanted.includes(suite.name)) continue;
  if (suite.dir && !existsSync(join(ROOT, suite.dir))) {
    console.log(`\n== ${suite.name}: no tests yet (${suite.dir} missing)`);
    continue;
  }
  if (suite.python) ensurePython();
  console.log(`\n== ${suite.name}`);
  const { code, output } = await runSuite(suite);
  const c = counts(output);
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
  if (code !== 0) {
    failedSuites.push(suite.name);
    if (c.failed === 0) total.failed += 1; // a suite that crashed counts as one failure
  }
}
console.log(`\nsuites failed: ${failedSuites.length ? failedSuites.join(', ') : 'none'}`);
console.log(`total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(failedSuites.length ? 1 : 0);
