// `node scripts/py.mjs SCRIPT [ARGS...]`: sets up models/.venv if missing, then runs SCRIPT in it.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensurePython, projectEnv, ROOT } from './ensure.mjs';

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node scripts/py.mjs SCRIPT [ARGS...]');
  process.exit(2);
}
const python = ensurePython();
const result = spawnSync(python, [resolve(ROOT, script), ...args], {
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdio: 'inherit',
  env: projectEnv({ PYTHONPATH: ROOT, PYTHONUNBUFFERED: '1' }),
});
process.exit(result.status ?? 1);
