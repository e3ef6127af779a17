/**
 * The peer baseline (bench/peer/app.py): its own Python environment in .cache/peer-venv, made
 * from bench/peer/requirements.txt with the machine's package index (never models/.venv, which
 * is shared), and the server process, spawned directly so /proc/<pid>/stat is its own CPU time.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processCpuSeconds } from '../test/helpers/proc-cpu.js';
import { REPO_ROOT } from '../test/helpers/service-process.js';

const VENV = join(REPO_ROOT, '.cache', 'peer-venv');
const REQUIREMENTS = join(REPO_ROOT, 'bench', 'peer', 'requirements.txt');
const PYTHON = join(VENV, 'bin', 'python');

export interface PeerHandle {
  url: string;
  pid: number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Creates (or reuses, when its requirements did not change) the peer's virtual environment. */
export function ensurePeerVenv(log: (message: string) => void): void {
  const digest = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  const stamp = join(VENV, '.requirements-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  log('creating the peer venv in .cache/peer-venv (about a minute)');
  const env = { ...process.env, PIP_RETRIES: '0', PIP_TIMEOUT: '5', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
  execFileSync('python3', ['-m', 'venv', '--clear', VENV], { stdio: 'inherit', env });
  execFileSync(PYTHON, ['-m', 'pip', 'install', '-q', '-r', REQUIREMENTS], { stdio: ['ignore', 'inherit', 'inherit'], env });
  writeFileSync(stamp, digest);
}

export async function startPeer(options: { port: number; bundleDir: string; threads: number }): Promise<PeerHandle> {
  const child = spawn(PYTHON, [join(REPO_ROOT, 'bench', 'peer', 'app.py'), String(options.port)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEER_BUNDLE: options.bundleDir, PEER_THREADS: String(options.threads), OMP_NUM_THREADS: String(options.threads || '') },
  });
  let output = '';
  let exited = false;
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) throw new Error(`the peer exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the peer was not ready in time:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    pid: child.pid!,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}
