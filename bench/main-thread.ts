/**
 * `npm run bench:main-thread`: the service's main-thread CPU per POST /v1/segment, a base
 * revision (CRIS_AB_BASE, default `main`) against the working tree, both as production runs
 * them (the JavaScript bundle, gpu-service/deploy/build.mjs, with the service's Node flags).
 * The base's gpu-service/ and contract/ come out of git (git archive) into .cache/main-thread/,
 * each side is bundled there, both run at once on loopback, and every concurrency level is
 * measured in rounds base, new, new, base, ... (a drift of the shared machine's load hits both
 * alike). The main thread's CPU is read from /proc/<pid>/task/<pid>/stat (its tid is the pid),
 * the whole process's from /proc/<pid>/stat. Requests: bench:service's (480x360 scenes, one
 * phrase, rle), unsigned with auth off as bench:service runs, or HMAC-signed with
 * CRIS_AB_SIGNED=1 (each request signed anew, as the edge does). The main thread of the client
 * (this process) is not measured.
 * Env: CRIS_AB_BASE (git ref), CRIS_AB_REQUESTS (per round and level, 300), CRIS_AB_ROUNDS (4),
 * CRIS_AB_WARM_UP (requests per side and level before measuring, 400),
 * CRIS_AB_CONCURRENCY (`1,8`), CRIS_AB_SIGNED, CRIS_BENCH_BUNDLE (default: the test bundle).
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { processCpuSeconds, statCpuSeconds } from '../test/helpers/proc-cpu.js';
import { REPO_ROOT, defaultTestBundle, startService, type ServiceHandle } from '../test/helpers/service-process.js';
import { segmentInit } from '../test/helpers/service-requests.js';
import { scene } from './load.js';

const BASE = process.env.CRIS_AB_BASE ?? 'main';
const REQUESTS = Number(process.env.CRIS_AB_REQUESTS ?? 300);
const ROUNDS = Number(process.env.CRIS_AB_ROUNDS ?? 4);
const LEVELS = (process.env.CRIS_AB_CONCURRENCY ?? '1,8').split(',').map(Number);
const SIGNED = process.env.CRIS_AB_SIGNED === '1';
const WARM_UP = Number(process.env.CRIS_AB_WARM_UP ?? 400);
const BUNDLE = process.env.CRIS_BENCH_BUNDLE ?? defaultTestBundle();
const WORK = join(REPO_ROOT, '.cache', 'main-thread');
const SECRET = 'bench-main-thread-secret-0123456789';
const started = performance.now();

function log(message: string): void {
  process.stderr.write(`[main-thread ${((performance.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

/** CPU seconds (user + system) of one /proc stat file. */
/** Bundles `root`'s service into `out` with the working tree's build script and node_modules. */
function bundle(root: string, out: string): string {
  const script = join(root, 'gpu-service', 'deploy', 'build.mjs');
  execFileSync(process.execPath, [script, out], { cwd: REPO_ROOT, stdio: 'ignore' });
  return join(out, 'main.mjs');
}

function buildSides(): { base: string; head: string } {
  rmSync(WORK, { recursive: true, force: true });
  const baseSource = join(WORK, 'base-src');
  mkdirSync(baseSource, { recursive: true });
  execSync(`git archive ${BASE} gpu-service contract | tar -x -C ${JSON.stringify(baseSource)}`, { cwd: REPO_ROOT });
  return { base: bundle(baseSource, join(WORK, 'base')), head: bundle(REPO_ROOT, join(WORK, 'head')) };
}

type Side = 'base' | 'head';

interface Round {
  mainMs: number;
  processMs: number;
  reqPerS: number;
  errors: number;
}

/** `total` requests from `concurrency` closed-loop clients; signed ones get a fresh signature each. */
async function drive(url: string, images: Uint8Array[], concurrency: number, total: number): Promise<{ seconds: number; errors: number }> {
  const unsigned = await Promise.all(images.map((image, i) => requestInit(image, i, undefined)));
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const init = SIGNED ? await requestInit(images[i % images.length], i, SECRET) : unsigned[i % unsigned.length];
        const response = await fetch(`${url}/v1/segment`, init);
        await response.arrayBuffer();
        if (response.status !== 200) errors++;
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, errors };
}

function requestInit(image: Uint8Array, i: number, secret: string | undefined) {
  return segmentInit({ image, texts: [`the ${i % 2 ? 'round' : 'square'} shape`], options: { format: 'rle' } }, secret);
}

async function measure(service: ServiceHandle, images: Uint8Array[], concurrency: number): Promise<Round> {
  const pid = service.child.pid!;
  const main0 = statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
  const all0 = processCpuSeconds(pid);
  const { seconds, errors } = await drive(service.url, images, concurrency, REQUESTS);
  return {
    mainMs: ((statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) - main0) * 1000) / REQUESTS,
    processMs: ((processCpuSeconds(pid) - all0) * 1000) / REQUESTS,
    reqPerS: REQUESTS / seconds,
    errors,
  };
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

async function main(): Promise<void> {
  log(`building ${BASE} and the working tree`);
  const scripts = buildSides();
  const images = await Promise.all(Array.from({ length: 48 }, (_, i) => scene(i + 1)));
  const env = {
    CRIS_FEATURE_CACHE_ENTRIES: '0',
    CRIS_MAX_QUEUE_SIZE: '256',
    CRIS_LOG_LEVEL: 'warn',
    CRIS_WORKERS: '1',
    CRIS_THREADS: '1',
    ...(SIGNED ? {} : { CRIS_INSECURE_NO_AUTH: '1', CRIS_HMAC_SECRET: '' }),
  };
  const services: Partial<Record<Side, ServiceHandle>> = {};
  try {
    for (const [side, port] of [['base', 18170], ['head', 18171]] as const) {
      services[side] = await startService({ port, bundleDir: BUNDLE, secret: SECRET, env, readyTimeoutMs: 120_000, mainScript: scripts[side] });
    }
    // JIT tiers: the per-request code runs in V8's baseline tiers for its first few hundred requests
    log(`warming both up: ${WARM_UP} requests per level (${SIGNED ? 'signed' : 'unsigned, auth off'})`);
    for (const side of ['base', 'head'] as const) for (const c of LEVELS) await drive(services[side]!.url, images, c, WARM_UP);
    const lines: string[] = [];
    for (const concurrency of LEVELS) {
      const rounds: Record<Side, Round[]> = { base: [], head: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const side of (round % 2 ? ['head', 'base'] : ['base', 'head']) as Side[]) {
          const result = await measure(services[side]!, images, concurrency);
          rounds[side].push(result);
          log(`c=${concurrency} ${side}: main ${result.mainMs.toFixed(2)} ms/req, process ${result.processMs.toFixed(1)} ms/req, ${result.reqPerS.toFixed(1)} req/s (load ${loadavg()[0].toFixed(1)})`);
        }
      }
      const summary = (side: Side) => {
        const r = rounds[side];
        const errors = r.reduce((sum, x) => sum + x.errors, 0);
        return `${side}: main thread ${mean(r.map((x) => x.mainMs)).toFixed(2)} ms/req (rounds ${r.map((x) => x.mainMs.toFixed(2)).join(' ')}), process ${mean(r.map((x) => x.processMs)).toFixed(1)} ms/req, ${mean(r.map((x) => x.reqPerS)).toFixed(1)} req/s${errors ? `, ${errors} errors` : ''}`;
      };
      lines.push(`c=${concurrency}, ${ROUNDS} x ${REQUESTS} requests per side:`, `  ${summary('base')}`, `  ${summary('head')}`);
    }
    process.stdout.write([`main-thread CPU per POST /v1/segment, base ${BASE} vs the working tree (${SIGNED ? 'HMAC-signed' : 'auth off'}), load ${loadavg().map((v) => v.toFixed(2)).join(' / ')}`, ...lines].join('\n') + '\n');
  } finally {
    await Promise.all(Object.values(services).map((service) => service.stop()));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
