/**
 * The OpenAPI document as third-party tools see it, served by the real stack (wrangler dev +
 * the GPU service on CPU + s3rver): `redocly lint` finds 0 errors (redocly.yaml, offline),
 * @readme/openapi-parser and @apidevtools/swagger-parser validate it, and a client generated
 * from it by openapi-typescript (types) + openapi-fetch (calls) compiles under tsc --strict and
 * gets, from every operation and every error the stack can be made to answer, exactly the
 * statuses, headers and bodies the document lists for that operation
 * (test/fixtures/openapi-client/calls.ts; the checks: test/helpers/openapi-check.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { compileErrors, validate } from '@readme/openapi-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import sharp from 'sharp';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeKey } from '../../functions/cli/keys.js';
import { edgeFetch, edgeVars, REPO_ROOT, seedApiKey, startEdge, type EdgeHandle } from '../helpers/edge-process.js';
import { documentChecker, type Observation } from '../helpers/openapi-check.js';
import { defaultTestBundle, startS3rver, startService, type S3rverHandle, type ServiceHandle } from '../helpers/service-process.js';

const PORTS = { s3: 18240, service: 18241, edge: 18242 };
const SECRET = 'openapi-integration-secret-0123456789';
/** The frozen service's 504 takes this long; the real calls take far less even on a busy machine. */
const GPU_TIMEOUT_MS = 20_000;
const BIN = join(REPO_ROOT, 'node_modules', '.bin');
/** Nothing may reach the network: no telemetry, no update check. */
const OFFLINE_ENV = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1', CI: 'true' };

const bundleDir = defaultTestBundle();
const haveBundle = existsSync(join(bundleDir, 'manifest.json'));

let s3: S3rverHandle;
let service: ServiceHandle;
let edge: EdgeHandle;
const keys = { main: '', limited: '', revoked: '' };
let doc: Record<string, unknown>;
let exposed: string[];
const work = mkdtempSync(join(tmpdir(), 'cris-openapi-'));
const persistTo = join(work, 'wrangler');
const docPath = join(work, 'openapi.json');
const clientDir = join(work, 'client');
const imagesDir = join(work, 'images');

/** Small distinct scenes (a red disc on grey, moved a little each time). */
async function writeScenes(count: number): Promise<void> {
  mkdirSync(imagesDir, { recursive: true });
  for (let n = 0; n < count; n++) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="64"><rect width="96" height="64" fill="#8a8a8a"/><circle cx="${24 + 4 * n}" cy="30" r="14" fill="#e01010"/></svg>`;
    await sharp(Buffer.from(svg)).png().toFile(join(imagesDir, `scene-${n}.png`));
  }
}

/** TypeScript types of a document by openapi-typescript (binary strings as Blob, as its docs show). */
async function generateTypes(document: object): Promise<string> {
  const blob = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'));
  const ast = await openapiTS(structuredClone(document) as never, { transform: (schema) => (schema.format === 'binary' ? blob : undefined) });
  return astToString(ast);
}

/** tsc --strict over the client and the types of `document`; the compiler's output. */
async function compileClient(document: object): Promise<{ status: number | null; output: string }> {
  writeFileSync(join(clientDir, 'api.ts'), await generateTypes(document));
  const result = spawnSync(join(BIN, 'tsc'), ['-p', join(clientDir, 'tsconfig.json')], { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** Stops or resumes the GPU service's process group (a frozen backend, not a dead one). */
function freeze(signal: 'SIGSTOP' | 'SIGCONT'): void {
  if (service?.child.pid === undefined || service.exited()) return;
  process.kill(-service.child.pid, signal);
}

/** Runs the typed client (asynchronously: s3rver answers from this process meanwhile). */
async function runClient(phase: 'up' | 'down'): Promise<Observation[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'calls.ts', phase], {
    cwd: clientDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CRIS_ORIGIN: edge.origin, CRIS_KEY: keys.main, CRIS_LIMITED_KEY: keys.limited, CRIS_REVOKED_KEY: keys.revoked, CRIS_IMAGES: imagesDir },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
  clearTimeout(timer);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as Observation[];
}

if (!haveBundle) console.warn(`openapi integration: no model bundle at ${bundleDir}; export one (npm run export:onnx) to run it`);

describe.skipIf(!haveBundle)('the OpenAPI document, by third-party tools against the running stack', () => {
  beforeAll(async () => {
    const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { id: string; version: string };
    s3 = await startS3rver({ port: PORTS.s3 });
    service = await startService({ port: PORTS.service, bundleDir, secret: SECRET, env: s3.env });
    const vars = edgeVars({ gpuUrls: [service.url], hmacSecret: SECRET, s3: s3.config, model: `${manifest.id}@${manifest.version}`, gpuTimeoutMs: GPU_TIMEOUT_MS });
    const seeding = (async () => {
      keys.main = (await seedApiKey({ persistTo, plan: 'bench' })).apiKey;
      // No monthly quota and a burst of one: the first request is over quota, the next over the rate.
      keys.limited = (await seedApiKey({ persistTo, plan: 'free', limits: { ratePerSecond: 0.001, burst: 1, monthlyQuota: 0 } })).apiKey;
      const doomed = await seedApiKey({ persistTo, plan: 'free' });
      revokeKey({ remote: false, persistTo }, doomed.record.keyId);
      keys.revoked = doomed.apiKey;
    })();
    [edge] = await Promise.all([startEdge({ port: PORTS.edge, persistTo, vars }), seeding, writeScenes(6)]);
    const served = await edgeFetch(`${edge.origin}/openapi.json`, { headers: { origin: 'https://app.example' } });
    expect(served.status).toBe(200);
    exposed = (served.headers.get('access-control-expose-headers') ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
    doc = (await served.json()) as Record<string, unknown>;
    writeFileSync(docPath, JSON.stringify(doc, null, 2));
    mkdirSync(clientDir, { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clientDir, 'node_modules'), 'dir');
    copyFileSync(join(REPO_ROOT, 'test', 'fixtures', 'openapi-client', 'calls.ts'), join(clientDir, 'calls.ts'));
    writeFileSync(join(clientDir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(clientDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM', 'DOM.Iterable'], types: ['node'], strict: true, noEmit: true, skipLibCheck: true },
        files: ['calls.ts'],
      }),
    );
  }, 300_000); // three key CLI runs, a revoke, wrangler dev and the service on a busy machine

  afterAll(async () => {
    freeze('SIGCONT');
    await edge?.stop();
    await service?.stop(5000);
    await s3?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('redocly lint (recommended, ./redocly.yaml) finds 0 errors, offline', () => {
    const result = spawnSync(join(BIN, 'redocly'), ['lint', docPath, '--config', join(REPO_ROOT, 'redocly.yaml'), '--format', 'json'], { encoding: 'utf8', env: OFFLINE_ENV, timeout: 60_000 });
    const report = JSON.parse(result.stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; severity: string; message: string }> };
    expect(report.problems.filter((problem) => problem.severity === 'error')).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(result.status, result.stderr).toBe(0);
    // The one warning left: the repository declares no licence to name in `info.license`.
    expect(report.problems.map((problem) => problem.ruleId)).toEqual(['info-license']);
  });

  it('@readme/openapi-parser and @apidevtools/swagger-parser validate it', async () => {
    const readme = await validate(structuredClone(doc) as never);
    expect(readme.valid ? '' : compileErrors(readme)).toBe('');
    expect(readme.warnings).toEqual([]);
    const parsed = (await SwaggerParser.validate(structuredClone(doc) as never)) as { paths?: Record<string, unknown> };
    expect(Object.keys(parsed.paths ?? {}).sort()).toEqual(['/healthz', '/openapi.json', '/v1/models', '/v1/results/{id}', '/v1/segment', '/v1/usage']);
  });

  it('names its schemas and operations: components.schemas, an operationId per operation', () => {
    const components = doc.components as { schemas: Record<string, unknown>; responses: Record<string, unknown> };
    for (const name of ['SegmentResult', 'PhraseResult', 'Mask', 'Error', 'ErrorCode', 'SegmentJsonRequest', 'SegmentMultipartRequest', 'PendingResult', 'UsageReport', 'ModelsList', 'Health']) {
      expect(components.schemas, name).toHaveProperty(name);
    }
    const paths = doc.paths as Record<string, Record<string, { operationId?: string }>>;
    const ids = Object.values(paths).flatMap((operations) => Object.values(operations).map((operation) => operation.operationId));
    expect(ids.sort()).toEqual(['getHealth', 'getOpenApiDocument', 'getResult', 'getUsage', 'listModels', 'segment']);
  });

  it('a client generated by openapi-typescript compiles (tsc --strict), and does not once the document drops a header it reads', async () => {
    const good = await compileClient(doc);
    expect(good.output).toBe('');
    expect(good.status).toBe(0);
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, { responses: Record<string, { headers: Record<string, unknown> }> }>> };
    delete broken.paths['/v1/segment'].post.responses['202'].headers.Location;
    const bad = await compileClient(broken);
    expect(bad.status).not.toBe(0);
    expect(bad.output).toMatch(/"Location"/);
    writeFileSync(join(clientDir, 'api.ts'), await generateTypes(doc)); // the good types back (the run below erases them anyway)
  });

  it('every operation and error the stack can answer comes back as documented (openapi-fetch)', async () => {
    const check = await documentChecker(doc, exposed);
    const up = await runClient('up');
    expect(up.flatMap(check)).toEqual([]);
    freeze('SIGSTOP');
    const down = await runClient('down');
    freeze('SIGCONT');
    expect(down.flatMap(check)).toEqual([]);
    const seen = [...up, ...down];
    // Every operation answered, and every status below came from the live stack.
    const paths = doc.paths as Record<string, Record<string, unknown>>;
    for (const [path, operations] of Object.entries(paths)) {
      for (const method of Object.keys(operations)) expect(seen.some((o) => o.path === path && o.method === method && o.status < 300), `${method} ${path}`).toBe(true);
    }
    expect([...new Set(seen.map((o) => o.status))].sort((a, b) => a - b)).toEqual([200, 202, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503, 504]);
    expect(seen.find((o) => o.label === 'idempotent replay')?.headers['idempotent-replayed']).toBe('true');
    expect(seen.find((o) => o.label === 'segment multipart again (hit)')?.headers['x-cache']).toBe('HIT');
    expect(seen.find((o) => o.label === 'stored failure')?.headers['retry-after']).toBeUndefined();
    expect(seen.find((o) => o.label === 'health, degraded')?.body).toMatchObject({ status: 'degraded', breaker: { state: 'open' } });
  });
});
