// `node scripts/py.mjs SCRIPT [ARGS...]`: sets up models/.venv if missing, then runs SCRIPT in it
// as a module (python -m models.x.y), so the package's relative imports work.
import { spawnSync } from 'node:child_process';
import { relative, resolve } from 'node:path';
import { ensurePython, projectEnv, ROOT } from './ensure.mjs';

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node scripts/py.mjs SCRIPT [ARGS...]');
  process.exit(2);
}
const python = ensurePython();
const module = relative(ROOT, resolve(ROOT, script)).replace(/\.py$/, '').split(/[\\/]/).join('.');
const result = spawnSync(python, ['-m', module, ...args], {
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdio: 'inherit',
  env: projectEnv({ PYTHONPATH: ROOT, PYTHONUNBUFFERED: '1' }),
});
process.exit(result.status ?? 1);
