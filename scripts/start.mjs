// `npm start`: the whole product on this machine, from a fresh clone.
//   installs what is missing -> s3rver (data in .local/s3) with the results bucket -> the GPU
//   service on CPU with the shipped bundle -> `wrangler dev` (the edge, static playground) with a
//   demo API key in its local KV -> prints the playground URL, the demo key and a curl to paste.
// Ctrl-C (SIGINT) or SIGTERM stops every process it started (each one's whole process group).
//
// Environment: PORT (edge, default 8787; the service, s3rver and wrangler's inspector take the
// next three ports), CRIS_BUNDLE_DIR (default models/cris-shapes-s, the shipped bundle),
// CRIS_LOCAL_DIR (default .local) and CRIS_PERSIST_DIR (default .local/wrangler, the key CLI's) for state.
// Node built-ins only until ensureNodeModules() has run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNodeModules, projectEnv, ROOT } from './ensure.mjs';

/** Local state: s3rver data, logs, the demo key. */
const LOCAL = resolve(ROOT, process.env.CRIS_LOCAL_DIR ?? '.local');
const LOGS = join(LOCAL, 'logs');
/** KV and Durable Object state of wrangler dev: the key CLI's default folder, so its keys work here. */
const WRANGLER_STATE = resolve(ROOT, process.env.CRIS_PERSIST_DIR ?? join('.local', 'wrangler'));
const BUCKET = 'cris-results';
const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const READY_TIMEOUT_MS = Number(process.env.CRIS_START_TIMEOUT_MS ?? 240_000);
const SAMPLES = join(ROOT, 'functions', 'public', 'samples');

const startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
const log = (line) => console.log(`[start +${elapsed()}] ${line}`);
/** A path as the user best reads it: relative inside the repository, absolute outside. */
const shown = (path) => (relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A child in its own process group, its output written to .local/logs/<name>.log. */
function startProcess(name, command, args, env) {
  mkdirSync(LOGS, { recursive: true });
  const logFile = join(LOGS, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'w' });
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  child.logFile = logFile;
  child.label = name;
  return child;
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `check` until it resolves true; fails early if one of `children` exits. */
async function waitFor(what, check, children, deadline) {
  const started = Date.now();
  let lastReport = started;
  while (Date.now() < deadline) {
    const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (dead) throw new Error(`${dead.label} exited (${dead.exitCode ?? dead.signalCode}) while waiting for ${what}; its log:\n${tail(dead.logFile)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      log(`still waiting for ${what} (${Math.round((Date.now() - started) / 1000)} s, gives up in ${Math.round((deadline - Date.now()) / 1000)} s)`);
    }
    await sleep(250);
  }
  throw new Error(`${what} not ready after ${READY_TIMEOUT_MS / 1000} s`);
}

const answers = (url, init) => async () => (await fetch(url, { ...init, signal: AbortSignal.timeout(5000) })).ok;

const KEY_PATTERN = /^cris_(live|test)_[A-Za-z0-9]{32}$/m;
const demoKeyFile = () => join(LOCAL, 'demo-key');

/** The demo key from an earlier run (kept so the printed URL stays valid across runs), if any. */
function savedDemoKey() {
  if (!existsSync(demoKeyFile())) return undefined;
  return KEY_PATTERN.exec(readFileSync(demoKeyFile(), 'utf8'))?.[0];
}

/** A new key in the local KV through the key CLI (`npm run keys -- create`), saved for next time. */
async function createDemoKey(children) {
  const args = ['--import', 'tsx', 'functions/cli/keys.ts', 'create', '--plan', 'pro', '--persist-to', WRANGLER_STATE];
  const output = await runToEnd(process.execPath, args, projectEnv(), children);
  const apiKey = KEY_PATTERN.exec(output)?.[0];
  if (!apiKey) throw new Error(`the key CLI printed no key:\n${output}`);
  mkdirSync(LOCAL, { recursive: true });
  writeFileSync(demoKeyFile(), `${apiKey}\n`);
  return apiKey;
}

/** Runs a command to its end (own process group, listed in `children` meanwhile so a stop reaches it). */
function runToEnd(command, args, env, children) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.on('exit', () => children.includes(child) && children.splice(children.indexOf(child), 1));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`))));
  });
}

/** Stops each child's process group: SIGTERM, then SIGKILL for what is left after a grace period. */
async function stopAll(children, graceMs = 8000) {
  const alive = (child) => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (children.some(alive) && Date.now() < deadline) await sleep(100);
  for (const child of children.filter(alive)) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Ports: the edge on PORT (default 8787), then the service, s3rver and wrangler's inspector. */
function ports() {
  const edge = Number(process.env.PORT ?? 8787);
  if (!Number.isInteger(edge) || edge < 1 || edge > 65532) throw new Error(`PORT must be a port number, not ${process.env.PORT}`);
  return { edge, service: edge + 1, s3: edge + 2, inspector: edge + 3 };
}

/** The GPU service on CPU, signing secret shared with the edge, results into s3rver. */
function startService(port, s3Port, bundleDir, hmacSecret) {
  const nodeFlags = JSON.parse(readFileSync(join(ROOT, 'gpu-service', 'node-flags.json'), 'utf8'));
  return startProcess('service', process.execPath, [...nodeFlags, '--import', 'tsx', 'gpu-service/src/main.ts'], projectEnv({
    CRIS_HOST: '127.0.0.1',
    CRIS_PORT: String(port),
    CRIS_BUNDLE_DIR: bundleDir,
    CRIS_PROVIDER: 'cpu',
    CRIS_HMAC_SECRET: hmacSecret,
    CRIS_S3_ENDPOINT: `http://127.0.0.1:${s3Port}`,
    CRIS_S3_BUCKET: BUCKET,
    CRIS_S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
    CRIS_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  }));
}

/** `wrangler dev` for the edge Worker (and the playground), pointed at this service and s3rver. */
function startEdge(port, inspectorPort, vars) {
  return startProcess('edge', process.execPath, [
    join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev',
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--persist-to', WRANGLER_STATE, '--log-level', 'warn', '--show-interactive-dev-session=false',
    ...Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ], projectEnv({ CI: 'true', NO_COLOR: '1' }));
}

function printReady(origin, apiKey, modelRef) {
  const [first] = JSON.parse(readFileSync(join(SAMPLES, 'index.json'), 'utf8'));
  console.log(`
ready in ${elapsed()}: the API and the playground are up (model ${modelRef}, CPU).

  playground: ${origin}/?key=${apiKey}
  demo key: ${apiKey}

  curl -s -H "Authorization: Bearer ${apiKey}" -F "image=@${join(SAMPLES, first.file)}" -F "text=${first.phrase}" -F "format=rle" ${origin}/v1/segment

Ctrl-C stops everything. Logs: ${shown(LOGS)}/`);
}

export async function main() {
  ensureNodeModules();
  const port = ports();
  const bundleDir = process.env.CRIS_BUNDLE_DIR ?? 'models/cris-shapes-s';
  const manifestPath = resolve(ROOT, bundleDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`no model bundle at ${bundleDir} (manifest.json missing)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const modelRef = `${manifest.id}@${manifest.version}`;

  const children = [];
  let s3 = null;
  let stopping = false;
  const shutdown = async (why, code) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping ${children.length} processes and s3rver`);
    await stopAll(children);
    await s3?.close().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 130));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 143));
  // `kill <npm pid>`: npm passes SIGTERM to its shell, which dies without passing it on. We
  // notice that our parent is gone (we were re-parented) and stop as if signalled.
  const parentPid = process.ppid;
  setInterval(() => process.ppid !== parentPid && void shutdown('parent process exited', 143), 500).unref();

  try {
    const { buildSdkBundle } = await import('../sdk/build.mjs');
    await buildSdkBundle();
    log('npm packages present, playground SDK bundle built');

    const { default: S3rver } = await import('s3rver');
    mkdirSync(join(LOCAL, 's3'), { recursive: true });
    s3 = new S3rver({ address: '127.0.0.1', port: port.s3, silent: true, directory: join(LOCAL, 's3'), configureBuckets: [{ name: BUCKET }] });
    await s3.run();
    log(`s3rver on http://127.0.0.1:${port.s3} (bucket ${BUCKET}, data in ${shown(join(LOCAL, 's3'))})`);

    const hmacSecret = randomBytes(24).toString('hex');
    const service = startService(port.service, port.s3, bundleDir, hmacSecret);
    children.push(service);
    log(`GPU service (CPU, ${bundleDir}) starting on http://127.0.0.1:${port.service}, log ${shown(service.logFile)}`);

    // The key is written to the local KV while the service starts, and before wrangler dev
    // starts: the key CLI runs its own local runtime on the same state folder, and the two
    // starting side by side sometimes left wrangler dev with "The Workers runtime failed to start".
    const saved = savedDemoKey();
    const keyMade = saved ? Promise.resolve(saved) : createDemoKey(children);
    await keyMade;

    const edge = startEdge(port.edge, port.inspector, {
      GPU_SERVICE_URLS: `http://127.0.0.1:${port.service}`,
      S3_ENDPOINT: `http://127.0.0.1:${port.s3}`,
      S3_BUCKET: BUCKET,
      S3_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
      HMAC_SECRET: hmacSecret,
      MODEL: modelRef,
      MODEL_INPUT_SIZE: String(manifest.input.size),
    });
    children.push(edge);
    log(`edge (wrangler dev) starting on http://127.0.0.1:${port.edge}, log ${shown(edge.logFile)}`);

    const deadline = Date.now() + READY_TIMEOUT_MS;
    const origin = `http://127.0.0.1:${port.edge}`;
    await waitFor('the GPU service', answers(`http://127.0.0.1:${port.service}/readyz`), children, deadline);
    log('GPU service ready (model loaded, warmed up)');
    await waitFor('the edge', answers(`${origin}/healthz`), children, deadline);
    let apiKey = await keyMade;
    const usage = await fetch(`${origin}/v1/usage`, { headers: { authorization: `Bearer ${apiKey}` } });
    if (usage.status === 401 || usage.status === 403) {
      log('the saved demo key is not in this KV state any more: making a new one');
      apiKey = await createDemoKey(children);
    }
    printReady(origin, apiKey, modelRef);

    // Keep running; a child that dies takes the stack down with it.
    const dead = await new Promise((resolveDead) => {
      for (const child of [service, edge]) child.on('exit', (code, signal) => !stopping && resolveDead({ child, how: code ?? signal }));
    });
    await shutdown(`${dead.child.label} exited (${dead.how}); its log ends:\n${tail(dead.child.logFile)}\n`, 1);
  } catch (error) {
    console.error(`[start +${elapsed()}] failed: ${error.message}`);
    await shutdown('start failed', 1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(`[start] ${error.message}`);
    process.exit(1);
  });
}
