/**
 * The SDK as users get it: `npm pack` of sdk/ installed offline into an empty project, then used
 * there against the running local stack with a plain Node ESM `import` and a CJS `require`, and a
 * TypeScript consumer compiled (strict, node16 resolution, both module kinds) against the shipped
 * .d.ts alone. The real answers it got are checked against the types twice: parsed by the
 * contract's zod schemas (an extra or missing field fails), and written into a .ts file as object
 * literals typed with the SDK's types (tsc rejects an excess or a missing property).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelsListSchema, PendingResultSchema, UsageReportSchema } from '../../contract/reports.js';
import { SegmentResultSchema } from '../../contract/segment.js';
import { expectTarget, readMaskFile } from '../helpers/stack-masks.js';
import { ROOT, samples, startStack, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const PACKAGE = '@cris-edge/sdk';
const dir = mkdtempSync(join(tmpdir(), 'cris-sdk-package-'));
const project = join(dir, 'project');
const [sample] = samples();
let stack: Stack;

/** The consumer's body, the same for both module kinds: every call, and what came back. */
const CONSUMER = `
async function main(sdk) {
  const { readFileSync } = require('node:fs');
  const cris = sdk.createClient({ endpoint: process.env.CRIS_ENDPOINT, apiKey: process.env.CRIS_API_KEY });
  const image = readFileSync(process.env.SAMPLE_IMAGE);
  const models = await cris.models();
  const result = await cris.segment({ image, text: process.env.SAMPLE_PHRASE, format: 'rle' });
  const bitmap = await sdk.maskToBitmap(result.results[0].mask, result.width, result.height);
  const again = await cris.getResult(result.id);
  const usage = await cris.usage();
  // a phrase never asked before, so the 202 path: submit, then poll
  const pending = await cris.submit({ image, text: process.env.FRESH_PHRASE, format: 'rle' });
  const waited = sdk.isPending(pending) ? await cris.waitForResult(pending.id, { timeout: 120000 }) : null;
  let error = null;
  try {
    await sdk.createClient({ endpoint: process.env.CRIS_ENDPOINT, apiKey: 'cris_test_' + '0'.repeat(32) }).usage();
  } catch (caught) {
    error = { isCrisError: caught instanceof sdk.CrisError, code: caught.code, status: caught.status };
  }
  return { models, result, again, usage, pending, waited, error, bitmap: { width: bitmap.width, height: bitmap.height, data: Array.from(bitmap.data) } };
}`;

/** Runs one consumer file in the project with the stack's address and key; its JSON output. */
async function consume(file: string, freshPhrase: string): Promise<Record<string, any>> {
  const { stdout } = await run(process.execPath, [file], {
    cwd: project,
    env: { ...process.env, CRIS_ENDPOINT: stack.origin, CRIS_API_KEY: stack.apiKey, SAMPLE_IMAGE: sample!.image, SAMPLE_PHRASE: sample!.phrase, FRESH_PHRASE: freshPhrase },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, any>;
}

beforeAll(async () => {
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: join(ROOT, 'sdk'), maxBuffer: 16 * 1024 * 1024 });
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
  rmSync(project, { recursive: true, force: true });
  await run('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-consumer', private: true }));
  await run('npm', ['install', join(dir, filename), '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });
  writeFileSync(join(project, 'esm.mjs'), `import * as sdk from '${PACKAGE}';\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${CONSUMER}\nconsole.log(JSON.stringify(await main(sdk)));\n`);
  writeFileSync(join(project, 'cjs.cjs'), `const sdk = require('${PACKAGE}');\n${CONSUMER}\nmain(sdk).then((out) => console.log(JSON.stringify(out)));\n`);
  stack = await startStack({ port: 18460 });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the packed SDK in an empty project', () => {
  let answers: Record<string, Record<string, any>>;

  it('installs with nothing else: no dependencies, no zod, ESM and CJS entry points and types', () => {
    expect(readdirSync(join(project, 'node_modules')).filter((name) => !name.startsWith('.'))).toEqual(['@cris-edge']);
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', PACKAGE, 'package.json'), 'utf8'));
    expect(installed.dependencies).toBeUndefined();
    expect(installed.peerDependenciesMeta.sharp.optional).toBe(true);
    for (const file of ['esm/index.js', 'cjs/index.js', 'esm/index.d.ts', 'cjs/index.d.ts', 'esm/wire.d.ts']) {
      const text = readFileSync(join(project, 'node_modules', PACKAGE, 'dist', file), 'utf8');
      expect(text, file).not.toMatch(/from ['"]zod['"]|require\(['"]zod['"]\)|import\(['"]zod['"]\)/);
    }
  });

  it('works from a plain ESM import and a CJS require against the running stack', async () => {
    const target = await readMaskFile(sample!.mask);
    answers = { esm: await consume('esm.mjs', 'the shape nearest the top edge'), cjs: await consume('cjs.cjs', 'the shape nearest the left edge') };
    for (const [kind, out] of Object.entries(answers)) {
      expect(out.result.results[0].text, kind).toBe(sample!.phrase);
      expectTarget({ width: out.bitmap.width, height: out.bitmap.height, data: Uint8Array.from(out.bitmap.data) }, target);
      expect(out.again.id).toBe(out.result.id);
      expect(out.usage.days.length).toBeGreaterThan(0);
      expect(out.usage.totals.requests).toBeGreaterThan(0);
      expect(out.models.data.some((model: { default: boolean }) => model.default)).toBe(true);
      expect(out.pending.status, `${kind}: a phrase not asked before is computed in the background`).toBe('pending');
      expect(out.waited.id).toBe(out.pending.id);
      expect(out.waited.results[0].mask.format).toBe('rle');
      expect(out.error).toEqual({ isCrisError: true, code: 'unauthorized', status: 401 });
    }
  });

  it('answers exactly what the contract schemas say (nothing extra, nothing missing)', () => {
    for (const out of Object.values(answers)) {
      for (const [schema, value] of [
        [SegmentResultSchema, out.result],
        [SegmentResultSchema, out.again],
        [SegmentResultSchema, out.waited],
        [UsageReportSchema, out.usage],
        [ModelsListSchema, out.models],
        [PendingResultSchema, out.pending],
      ] as const) {
        expect(schema.parse(value)).toEqual(value); // zod drops unknown keys, so an extra one fails here
      }
    }
  });

  it('compiles a strict TypeScript consumer (ESM and CJS) against the shipped .d.ts, real answers typed as the SDK says', async () => {
    const { esm } = answers;
    const literal = (value: unknown) => JSON.stringify(value);
    writeFileSync(join(project, 'wire-check.mts'), [
      `import type { ModelsList, PendingResult, SegmentResult, UsageReport } from '${PACKAGE}';`,
      // fresh object literals: tsc rejects a property the type lacks and a missing one, at any depth
      `export const result: SegmentResult = ${literal(esm!.result)};`,
      `export const usage: UsageReport = ${literal(esm!.usage)};`,
      `export const models: ModelsList = ${literal(esm!.models)};`,
      `export const pending: PendingResult = ${literal(esm!.pending)};`,
      `export const day: string = usage.days[0]!.date;`,
      `// @ts-expect-error the wire says date, not day (and the types are not any)`,
      `export const wrong = usage.days[0]!.day;`,
    ].join('\n'));
    const calls = (from: string) => [
      from,
      `const cris: CrisClient = createClient({ endpoint: 'http://127.0.0.1:1', apiKey: 'k', timeout: 5000, retry: { maxAttempts: 2 } });`,
      `export async function use(signal: AbortSignal): Promise<number> {`,
      `  const answer = await cris.submit({ image: new Uint8Array(8), text: ['a', 'b'], format: 'polygon', signal });`,
      `  const result: SegmentResult = isPending(answer) ? await cris.waitForResult(answer.id, { signal, timeout: 1000 }) : answer;`,
      `  const mask = result.results[0]!.mask;`,
      `  if (mask.format === 'rle') return mask.size[0];`,
      `  try { await cris.usage({ from: '2026-01-01' }); } catch (error) { if (error instanceof CrisError) return error.status; }`,
      `  // @ts-expect-error a phrase is a string`,
      `  await cris.segment({ imageId: 'x', text: 3 });`,
      `  return (await maskToBitmap(mask, result.width, result.height)).data.length;`,
      `}`,
    ].join('\n');
    const names = `{ createClient, CrisError, isPending, maskToBitmap, type CrisClient, type SegmentResult }`;
    writeFileSync(join(project, 'consumer.mts'), calls(`import ${names} from '${PACKAGE}';`));
    writeFileSync(join(project, 'consumer.cts'), calls(`import ${names} from '${PACKAGE}';`));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2023', 'dom'], types: [], noEmit: true, skipLibCheck: false },
      files: ['wire-check.mts', 'consumer.mts', 'consumer.cts'],
    }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await run(process.execPath, [tsc, '-p', join(project, 'tsconfig.json'), '--listFiles'], { cwd: project }).catch((error: { stdout: string }) => {
      throw new Error(`tsc failed in the consumer project:\n${error.stdout}`);
    });
    const loaded = compiled.stdout.split('\n').filter((line) => line.includes(`node_modules/${PACKAGE}/`));
    expect(loaded.some((file) => file.endsWith('dist/esm/wire.d.ts'))).toBe(true); // the .mts consumer got the ESM types
    expect(loaded.some((file) => file.endsWith('dist/cjs/wire.d.ts'))).toBe(true); // the .cts one the CJS types
  });
});
