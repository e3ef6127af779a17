/**
 * The whole local stack for tests (s3rver, GPU service on CPU, wrangler dev with a demo key), brought
 * up by the same script users run (`scripts/start.mjs`), with its state in a temporary folder.
 *
 *   const stack = await startStack({ port: 18310 });
 *   ... fetch(`${stack.origin}/v1/segment`, { headers: { authorization: `Bearer ${stack.apiKey}` } })
 *   await stack.stop();
 *
 * Ports: the edge on `port`, the service, s3rver and the inspector on the next three.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTestBundle } from './service-process.js';

export const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
export const SAMPLES_DIR = join(ROOT, 'functions', 'public', 'samples');
export const FIXTURES_DIR = join(ROOT, 'test', 'browser', 'fixtures');

export interface Sample {
  file: string;
  phrase: string;
  /** Absolute paths of the scene and of its target mask (255 inside). */
  image: string;
  mask: string;
}

export function samples(): Sample[] {
  const index = JSON.parse(readFileSync(join(SAMPLES_DIR, 'index.json'), 'utf8')) as Array<{ file: string; phrase: string }>;
  return index.map((entry) => ({
    ...entry,
    image: join(SAMPLES_DIR, entry.file),
    mask: join(FIXTURES_DIR, entry.file.replace(/\.png$/, '.mask.png')),
  }));
}

export interface Stack {
  origin: string;
  apiKey: string;
  /** The printed curl command, as a user would paste it. */
  curl: string;
  /** Everything the start script printed so far. */
  output(): string;
  /** wrangler dev's KV/DO state folder (for `npm run keys -- --persist-to`). */
  persistDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Bundle the tests run against: CRIS_TEST_BUNDLE, else the shipped trained one, else random-small
 * (the service helper's rule). Checks that the mask covers the right object need a trained one.
 */
export const TEST_BUNDLE_DIR = defaultTestBundle();
/** Whether that bundle was trained on referring-shapes (so the sample targets must be found). */
export const TRAINED = (() => {
  try {
    const manifest = JSON.parse(readFileSync(join(TEST_BUNDLE_DIR, 'manifest.json'), 'utf8')) as { provenance?: { source?: string } };
    return manifest.provenance?.source === 'trained-referring-shapes';
  } catch {
    return false;
  }
})();

/** A new key of `plan` in the stack's KV, made with the key CLI as a user would. */
export async function createKey(stack: Stack, plan: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'functions/cli/keys.ts', 'create', '--plan', plan, '--persist-to', stack.persistDir], { cwd: ROOT });
  const key = /^cris_(live|test)_[A-Za-z0-9]{32}$/m.exec(stdout)?.[0];
  if (!key) throw new Error(`the key CLI printed no key:\n${stdout}`);
  return key;
}

export interface StackOptions {
  port: number;
  /** `npm start` (as users run it) or `node scripts/start.mjs` (default). */
  viaNpm?: boolean;
  timeoutMs?: number;
  /** The bundle the service runs (default TEST_BUNDLE_DIR). */
  bundleDir?: string;
}

/** Waits until the start script prints its curl line; rejects (with its output) if it exits first. */
export async function startStack({ port, viaNpm = false, timeoutMs = 240_000, bundleDir = TEST_BUNDLE_DIR }: StackOptions): Promise<Stack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'cris-stack-'));
  const env = {
    ...process.env,
    PORT: String(port),
    CRIS_BUNDLE_DIR: bundleDir,
    CRIS_LOCAL_DIR: join(stateDir, 'local'),
    CRIS_PERSIST_DIR: join(stateDir, 'wrangler'),
    CRIS_START_TIMEOUT_MS: String(timeoutMs),
    NO_COLOR: '1',
  };
  const [command, args] = viaNpm ? ['npm', ['start']] : [process.execPath, ['scripts/start.mjs']];
  const child = spawn(command, args as string[], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<Stack>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack not ready in ${timeoutMs} ms:\n${output}`)), timeoutMs + 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const key = /^\s*demo key: (\S+)$/m.exec(output)?.[1];
      const curl = /^\s*(curl .*)$/m.exec(output)?.[1];
      if (key && curl) {
        clearTimeout(timer);
        resolve({ origin: `http://127.0.0.1:${port}`, apiKey: key, curl, output: () => output, persistDir: env.CRIS_PERSIST_DIR, process: child, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`start script exited (${code ?? signal}) before ready:\n${output}`));
    });
  });
  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(stateDir, { recursive: true, force: true });
  }
  try {
    return await ready;
  } catch (error) {
    await stop();
    throw error;
  }
}
