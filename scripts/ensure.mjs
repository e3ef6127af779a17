// Installs what a fresh clone lacks: npm packages (from the lock file) and the Python virtual
// environment of models/. Node built-ins only, so it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_PYTHON = join(ROOT, 'models', '.venv', 'bin', 'python');

/** Environment every child process of ours gets (no telemetry, no downloads at install). */
export function projectEnv(extra = {}) {
  return {
    ONNXRUNTIME_NODE_INSTALL: 'skip',
    ORT_DISABLE_TELEMETRY: '1',
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    ...process.env,
    ...extra,
  };
}

function run(cmd, args, env = projectEnv()) {
  const result = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`setup: '${cmd} ${args.join(' ')}' failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

const newer = (a, b) => existsSync(a) && existsSync(b) && statSync(a).mtimeMs > statSync(b).mtimeMs;

export function ensureNodeModules() {
  const stamp = join(ROOT, 'node_modules', '.package-lock.json');
  if (existsSync(stamp) && !newer(join(ROOT, 'package-lock.json'), stamp)) return;
  console.error('setup: installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund'], projectEnv({ CI: 'true' }));
}

export function ensurePython() {
  const requirements = join(ROOT, 'models', 'requirements.txt');
  const stamp = join(ROOT, 'models', '.venv', '.installed');
  if (existsSync(VENV_PYTHON) && existsSync(stamp) && !newer(requirements, stamp)) return VENV_PYTHON;
  console.error('setup: creating models/.venv from models/requirements.txt');
  if (!existsSync(VENV_PYTHON)) run('python3', ['-m', 'venv', join(ROOT, 'models', '.venv')]);
  // Fail fast on unreachable indexes instead of waiting on retries.
  const pipEnv = projectEnv({ PIP_RETRIES: process.env.PIP_RETRIES ?? '0', PIP_TIMEOUT: process.env.PIP_TIMEOUT ?? '5' });
  run(VENV_PYTHON, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], pipEnv);
  writeFileSync(stamp, new Date().toISOString());
  return VENV_PYTHON;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const what = process.argv.slice(2);
  if (what.length === 0 || what.includes('node')) ensureNodeModules();
  if (what.length === 0 || what.includes('python')) ensurePython();
}
