/**
 * Starts the real GPU service (`node --import tsx gpu-service/src/main.ts`, its own process group) and a real
 * s3rver on loopback, and tears them down. Shared by the service, edge and DX integration tests
 * and by bench/service.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../gpu-service/src/boot/node-flags.js';
import { processCpuSeconds } from './proc-cpu.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const TRAINED_BUNDLE = join(REPO_ROOT, 'models', 'cris-shapes-s');
export const RANDOM_SMALL_BUNDLE = join(REPO_ROOT, '.cache', 'bundles', 'random-small');

/** The bundle tests should use: CRIS_TEST_BUNDLE, else the shipped trained one, else random-small. */
export function defaultTestBundle(): string {
  if (process.env.CRIS_TEST_BUNDLE) return resolve(process.env.CRIS_TEST_BUNDLE);
  if (existsSync(join(TRAINED_BUNDLE, 'manifest.json'))) return TRAINED_BUNDLE;
  return RANDOM_SMALL_BUNDLE;
}

export function hasTrainedBundle(): boolean {
  return existsSync(join(TRAINED_BUNDLE, 'manifest.json'));
}

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: true;
}

export interface S3rverHandle {
  config: S3Settings;
  /** Env vars that point the service at this store. */
  env: Record<string, string>;
  close(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<unknown>;
  close(): Promise<void>;
}

/** An in-process s3rver on 127.0.0.1:port with `bucket` created; data in `directory` (a temp dir when absent). */
export async function startS3rver(options: { port: number; bucket?: string; directory?: string }): Promise<S3rverHandle> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;
  const ownDirectory = !options.directory;
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'cris-s3rver-'));
  const bucket = options.bucket ?? 'cris-results';
  const instance = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  await instance.run();
  const config: S3Settings = {
    endpoint: `http://127.0.0.1:${options.port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
  };
  return {
    config,
    env: {
      CRIS_S3_ENDPOINT: config.endpoint,
      CRIS_S3_BUCKET: bucket,
      CRIS_S3_REGION: config.region,
      CRIS_S3_ACCESS_KEY_ID: config.accessKeyId,
      CRIS_S3_SECRET_ACCESS_KEY: config.secretAccessKey,
      CRIS_S3_FORCE_PATH_STYLE: 'true',
    },
    async close() {
      await instance.close();
      if (ownDirectory) rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface ServiceHandle {
  url: string;
  /** CPU seconds (user + system, all threads) the process has used so far (Linux /proc). */
  cpuSeconds(): number;
  secret: string;
  child: ChildProcess;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number;
  /** Everything the process wrote so far (JSON log lines). */
  logs(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface StartServiceOptions {
  port: number;
  bundleDir?: string;
  secret?: string;
  /** Extra CRIS_* variables (batcher knobs, S3 settings from startS3rver().env, ...). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /**
   * 'source' (default): `node --import tsx gpu-service/src/main.ts`; 'bundle': the JavaScript
   * bundle `node dist/gpu-service/main.mjs` (build it first: node gpu-service/deploy/build.mjs).
   */
  entry?: 'source' | 'bundle';
  /**
   * A bundled `main.mjs` anywhere (e.g. the GPU run's, bench/gpu-run/): run as `node FILE`
   * from its own folder instead of `entry`. Pass `bundleDir` absolute with it.
   */
  mainScript?: string;
  /** Node flags after the service's own (e.g. --trace-gc for a benchmark). */
  extraNodeFlags?: string[];
}

/** Spawns the service and resolves once /readyz answers 200 (rejects with its logs if it dies). */
export async function startService(options: StartServiceOptions): Promise<ServiceHandle> {
  const secret = options.secret ?? 'service-test-secret-0123456789';
  const url = `http://127.0.0.1:${options.port}`;
  const started = performance.now();
  // `node --import tsx` rather than the tsx CLI: one process, so SIGTERM reaches the service's
  // own handler (the CLI relays signals with a 30 ms handshake that a busy machine can miss,
  // and then SIGKILLs the service mid-drain).
  const args = [
    ...SERVICE_NODE_FLAGS,
    ...(options.extraNodeFlags ?? []),
    ...(options.mainScript ? [options.mainScript] : options.entry === 'bundle' ? ['dist/gpu-service/main.mjs'] : ['--import', 'tsx', 'gpu-service/src/main.ts']),
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.mainScript ? dirname(options.mainScript) : REPO_ROOT,
    detached: true, // own process group: stop() reaches the workers too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ONNXRUNTIME_NODE_INSTALL: 'skip',
      ORT_DISABLE_TELEMETRY: '1',
      CRIS_HOST: '127.0.0.1',
      CRIS_PORT: String(options.port),
      CRIS_BUNDLE_DIR: options.bundleDir ?? defaultTestBundle(),
      CRIS_HMAC_SECRET: secret,
      CRIS_PROVIDER: 'cpu',
      ...options.env,
    },
  });
  let output = '';
  let exitCode: number | null | undefined;
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exitedPromise = new Promise<number | null>((resolveExit) =>
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : null);
      resolveExit(exitCode);
    }),
  );

  const stop = async (graceMs = 15_000): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    const code = await exitedPromise;
    clearTimeout(timer);
    return code;
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the service exited with ${exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop(2000);
      throw new Error(`the service was not ready in time:\n${output}`);
    }
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
  return {
    url,
    secret,
    child,
    readyMs: performance.now() - started,
    logs: () => output,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    exited: () => exitCode !== undefined,
    stop,
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
