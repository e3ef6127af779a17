/**
 * Starts the edge Worker under `wrangler dev` (workerd) on loopback, in its own process group,
 * and stops the whole group (wrangler leaves workerd running otherwise). Also seeds API keys into
 * the same local state (`--persist-to`) through the key CLI.
 *
 *   const edge = await startEdge({ port: 18210, persistTo, vars: edgeVars({ gpuUrls: [service.url], s3: s3.config, hmacSecret }) });
 *   const { apiKey } = await seedApiKey({ persistTo, plan: 'bench' });
 *   ... fetch(`${edge.origin}/v1/segment`, { headers: { authorization: `Bearer ${apiKey}` }, ... })
 *   await edge.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKey, DEFAULT_PERSIST_DIR } from '../../functions/cli/keys.js';
import type { KeyLimits, KeyRecord } from '../../functions/src/auth/key-record.js';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export { DEFAULT_PERSIST_DIR };

export interface EdgeOptions {
  port: number;
  /** Devtools port; wrangler's default (9229) would collide between parallel runs. Default port + 1. */
  inspectorPort?: number;
  /** Local KV/DO/cache state; default .local/wrangler (the key CLI's default too). */
  persistTo?: string;
  /** Overrides of wrangler.toml [vars] (and dev secrets), passed as `--var NAME:value`. */
  vars?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface EdgeHandle {
  origin: string;
  persistTo: string;
  child: ChildProcess;
  logs(): string;
  exited(): boolean;
  /** SIGTERM to the process group, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface EdgeVarsInput {
  gpuUrls: string[];
  hmacSecret: string;
  s3?: { endpoint: string; bucket: string; region: string; accessKeyId: string; secretAccessKey: string };
  gpuTimeoutMs?: number;
  model?: string;
  breakerFailures?: number;
  breakerCooldownSeconds?: number;
}

/** The vars that point the edge at a GPU service and an S3 store. */
export function edgeVars(input: EdgeVarsInput): Record<string, string> {
  const vars: Record<string, string> = { GPU_SERVICE_URLS: input.gpuUrls.join(','), HMAC_SECRET: input.hmacSecret };
  if (input.s3) {
    Object.assign(vars, {
      S3_ENDPOINT: input.s3.endpoint,
      S3_BUCKET: input.s3.bucket,
      S3_REGION: input.s3.region,
      S3_ACCESS_KEY_ID: input.s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: input.s3.secretAccessKey,
    });
  }
  if (input.gpuTimeoutMs !== undefined) vars.GPU_TIMEOUT_MS = String(input.gpuTimeoutMs);
  if (input.model !== undefined) vars.MODEL = input.model;
  if (input.breakerFailures !== undefined) vars.BREAKER_FAILURES = String(input.breakerFailures);
  if (input.breakerCooldownSeconds !== undefined) vars.BREAKER_COOLDOWN_S = String(input.breakerCooldownSeconds);
  return vars;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Spawns `wrangler dev` and resolves once GET /healthz answers 200. */
export async function startEdge(options: EdgeOptions): Promise<EdgeHandle> {
  const persistTo = resolve(options.persistTo ?? DEFAULT_PERSIST_DIR);
  mkdirSync(persistTo, { recursive: true });
  const origin = `http://127.0.0.1:${options.port}`;
  const args = [
    'dev',
    '--port', String(options.port),
    '--ip', '127.0.0.1',
    '--inspector-port', String(options.inspectorPort ?? options.port + 1),
    '--persist-to', persistTo,
    '--show-interactive-dev-session=false',
    '--log-level', 'warn',
  ];
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push('--var', `${name}:${value}`);
  const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'wrangler'), args, {
    cwd: REPO_ROOT,
    detached: true, // own process group: stop() reaches workerd too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  let exitCode: number | null | undefined;
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolveExit) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : null);
      resolveExit();
    }),
  );
  // If this process exits without stop(), do not leave wrangler and workerd behind.
  const killOnExit = () => signalGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (graceMs = 5000): Promise<void> => {
    process.off('exit', killOnExit);
    if (exitCode === undefined) {
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    signalGroup(child, 'SIGKILL'); // workerd may outlive wrangler in the group
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`wrangler dev exited with ${exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`wrangler dev was not ready in time:\n${output}`);
    }
    try {
      const response = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return { origin, persistTo, child, logs: () => output, exited: () => exitCode !== undefined, stop };
}

/** Creates an API key in the local state wrangler dev reads (same persistTo); takes a few seconds. */
export async function seedApiKey(options: { persistTo?: string; plan?: string; limits?: Partial<KeyLimits> } = {}): Promise<{ apiKey: string; record: KeyRecord }> {
  const persistTo = resolve(options.persistTo ?? DEFAULT_PERSIST_DIR);
  mkdirSync(persistTo, { recursive: true });
  return createKey({ remote: false, persistTo }, options.plan ?? 'bench', options.limits);
}

/**
 * fetch for calls to wrangler dev: retries once when a kept-alive connection had been closed by
 * the server while idle (undici then fails with "other side closed", or EPIPE while writing the
 * body, before the server read the request).
 */
export async function edgeFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code !== 'UND_ERR_SOCKET' && cause?.code !== 'EPIPE') throw error;
    return fetch(input, init);
  }
}
