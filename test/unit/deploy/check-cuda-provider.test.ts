/**
 * gpu-service/deploy/check-cuda-provider.mjs, the GPU image's build-time check, run on real ELF
 * libraries: gcc builds a stand-in CUDA runtime (soname libcudart.so.<major>) and a provider
 * library that links it, laid out like onnxruntime-node's bin folder. `ldd` does the resolving.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './dockerfile.js';

const CHECK = join(ROOT, 'gpu-service', 'deploy', 'check-cuda-provider.mjs');
const work = mkdtempSync(join(tmpdir(), 'cris-cuda-check-'));
const cudaDir = join(work, 'cuda');
const binDir = join(work, 'bin');

function sharedLibrary(out: string, soname: string, links: string[] = []) {
  const source = join(work, 'empty.c');
  writeFileSync(source, 'int cris_stand_in(void) { return 0; }\n');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', out, source, `-Wl,-soname,${soname}`, '-Wl,--no-as-needed', ...links]);
}

function check(dir: string, major: string, libraryPath?: string) {
  const env: Record<string, string | undefined> = { ...process.env, LD_LIBRARY_PATH: libraryPath };
  const run = spawnSync(process.execPath, [CHECK, dir, major], { encoding: 'utf8', env });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

beforeAll(() => {
  mkdirSync(cudaDir);
  mkdirSync(binDir);
  sharedLibrary(join(cudaDir, 'libcudart.so.12'), 'libcudart.so.12');
  sharedLibrary(join(binDir, 'libonnxruntime_providers_shared.so'), 'libonnxruntime_providers_shared.so');
  sharedLibrary(join(binDir, 'libonnxruntime_providers_cuda.so'), 'libonnxruntime_providers_cuda.so', [
    `-L${cudaDir}`, '-l:libcudart.so.12', `-L${binDir}`, '-l:libonnxruntime_providers_shared.so',
  ]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('check-cuda-provider.mjs', () => {
  it('passes when every library resolves and the CUDA major matches', () => {
    const run = check(binDir, '12', cudaDir);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('uses CUDA 12');
  });

  it('fails on a CUDA major other than the image one', () => {
    const run = check(binDir, '13', cudaDir);
    expect(run.status).toBe(1);
    expect(run.output).toContain('built for CUDA 12, the image has CUDA 13');
  });

  it('fails, naming the library, when ldd finds a dependency "not found"', () => {
    const run = check(binDir, '12');
    expect(run.status).toBe(1);
    expect(run.output).toContain('libonnxruntime_providers_cuda.so: libcudart.so.12 => not found');
  });

  it('fails when the provider is missing (a CPU-only onnxruntime-node)', () => {
    const run = check(join(ROOT, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64'), '12');
    expect(run.status).toBe(1);
    expect(run.output).toContain('libonnxruntime_providers_cuda.so is missing');
  });
});
