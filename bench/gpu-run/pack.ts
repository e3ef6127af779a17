/**
 * `npm run gpu:pack`: everything the GPU run needs that the device lacks, in parts that fit the
 * device tool's 64 MiB per call next to the working tree (bench/gpu-run/README.md):
 *   node.xz                 this machine's node binary (the device has no Node.js)
 *   runtime.tar.gz          app/: onnxruntime-node 1.29.0 (Linux x64 only) + its CUDA provider's
 *                           shared library, sharp and its libvips, the service and the device
 *                           bench bundled to JS (esbuild), Debian's Vulkan/EGL loaders for
 *                           WebGPU (.deb)
 *   providers_cuda.so[.xz]  libonnxruntime_providers_cuda.so of onnxruntime 1.29.0, CUDA 13
 *                           (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9)
 * joined into payload.tar and cut into .cache/gpu-run/parts/p01.. with sha256s; beside them the
 * CLIP merges file (vocab.txt.gz) for the RN50 exports, sent with the first part. Downloads (npm
 * pack, apt-get download) and compressed files are cached under .cache/gpu-run/ (ignored).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';
import { MIB, partBudget, sha256File, writeParts } from './parts.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CACHE = join(ROOT, '.cache', 'gpu-run');
const NPM = join(CACHE, 'npm');
const DEBS = join(CACHE, 'debs');
const STAGE = join(CACHE, 'stage');
const PARTS = join(CACHE, 'parts');
const ORT_VERSION = '1.29.0';
const CUDA_PACKAGE = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';
const LOADERS = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
const VOCAB = join(ROOT, '..', 'shared', 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');
const started = performance.now();

function step(message: string): void {
  process.stderr.write(`[pack ${((performance.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

function run(command: string, args: string[], cwd = ROOT): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
}

/** `npm pack` once into .cache/gpu-run/npm; returns the tarball. */
function npmTarball(spec: string): string {
  const file = `${spec.replace(/@(?=[^@]*$)/, '-').replace(/^@/, '').replace('/', '-')}.tgz`;
  const path = join(NPM, file);
  if (!existsSync(path)) {
    mkdirSync(NPM, { recursive: true });
    step(`npm pack ${spec}`);
    run('npm', ['pack', '--silent', spec], NPM);
  }
  if (!existsSync(path)) throw new Error(`npm pack ${spec} did not write ${path}`);
  return path;
}

/** Extracts `members` of an npm tarball (paths under package/) into `dest`. */
function untar(tarball: string, dest: string, members: string[] = ['package']): void {
  mkdirSync(dest, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1', ...members]);
}

/**
 * xz -`level` of `source` into the cache, reused while the source's size and mtime are unchanged. */
function xzCached(source: string, name: string, level: number): string {
  const { size, mtimeMs } = statSync(source);
  const path = join(CACHE, 'xz', `${name}.${size}.${Math.round(mtimeMs)}.${level}.xz`);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    step(`xz -${level} ${name} (${(size / MIB).toFixed(0)} MiB; minutes on a busy machine, once)`);
    execFileSync('sh', ['-c', `xz -${level} -T2 -c "$1" > "$2.$$.tmp" && mv "$2.$$.tmp" "$2"`, 'sh', source, path], { stdio: 'inherit' });
  }
  return path;
}

function loaderDebs(): string[] {
  mkdirSync(DEBS, { recursive: true });
  const have = () => readdirSync(DEBS).filter((f) => f.endsWith('.deb'));
  if (LOADERS.some((name) => !have().some((f) => f.startsWith(`${name}_`)))) {
    step(`apt-get download ${LOADERS.join(' ')}`);
    const result = spawnSync('apt-get', ['download', ...LOADERS], { cwd: DEBS, stdio: 'inherit' });
    if (result.status !== 0) throw new Error('apt-get download failed: run `apt-get update` first');
  }
  return have().map((f) => join(DEBS, f));
}

/**
 * The CUDA provider into the payload, xz -0 by default (GPU_PACK_CUDA_XZ=LEVEL for another,
 * `none` for none): -0 gives 163 MiB like -6 does, for ~50 s of CPU instead of minutes (7 min of
 * wall time on this shared machine at load 28; cached after). Returns the payload name.
 */
function cudaProvider(lib: string, out: string): string {
  const level = process.env.GPU_PACK_CUDA_XZ ?? '0';
  if (level === 'none') {
    cpSync(lib, join(out, 'providers_cuda.so'));
    return 'providers_cuda.so';
  }
  cpSync(xzCached(lib, 'providers_cuda.so', Number(level)), join(out, 'providers_cuda.so.xz'));
  return 'providers_cuda.so.xz';
}

/** The service (main + worker thread) and the device bench as JS: packages bundled, natives not. */
async function bundleJs(app: string): Promise<void> {
  const common = {
    bundle: true,
    format: 'esm' as const,
    platform: 'node' as const,
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Natives stay packages; so does prom-client (CommonJS: bundled, its named exports vanish
    // behind the dynamic import in main.ts). The AWS SDK and s3rver are never loaded here.
    external: ['onnxruntime-node', 'sharp', 'prom-client', '@aws-sdk/*', 's3rver'],
    // CommonJS packages bundled into ESM still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning' as const,
  };
  await build({
    ...common,
    entryPoints: { main: join(ROOT, 'gpu-service/src/main.ts'), 'worker-thread': join(ROOT, 'gpu-service/src/worker/worker-thread.ts') },
    outdir: join(app, 'service'),
    splitting: true,
  });
  writeFileSync(join(app, 'service', 'bootstrap.mjs'), "await import('./worker-thread.mjs');\n");
  await build({ ...common, entryPoints: { 'device-bench': join(ROOT, 'bench/gpu-run/device-bench.ts') }, outdir: join(app, 'bench') });
}

/** The repo's installed package folder of `name` (sharp and its native parts, hoisted by npm). */
function installedPackage(name: string): string {
  const dir = join(ROOT, 'node_modules', name);
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`${name} is not installed in node_modules (npm ci first)`);
  return dir;
}

/** Bytes of the files a device call sends besides the carried ones (tracked + untracked, not ignored). */
function treeBytes(): number {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  return listed
    .split('\0')
    .filter(Boolean)
    .reduce((sum, file) => sum + (existsSync(join(ROOT, file)) ? statSync(join(ROOT, file)).size : 0), 0);
}

async function main(): Promise<void> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the GPU run needs a Linux x64 node binary: pack on Linux x64');
  if (!existsSync(VOCAB)) throw new Error(`the CLIP merges file is missing: ${VOCAB}`);
  const ortTgz = npmTarball(`onnxruntime-node@${ORT_VERSION}`);
  const commonTgz = npmTarball(`onnxruntime-common@${ORT_VERSION}`);
  const cudaTgz = npmTarball(CUDA_PACKAGE);

  rmSync(STAGE, { recursive: true, force: true });
  const app = join(STAGE, 'app');
  const modules = join(app, 'node_modules');
  step('staging app/ (onnxruntime-node Linux x64, sharp, JS bundles, loaders)');
  const ortDir = join(modules, 'onnxruntime-node');
  untar(ortTgz, ortDir, ['package/package.json', 'package/dist', 'package/bin/napi-v6/linux/x64']);
  untar(commonTgz, join(modules, 'onnxruntime-common'));
  const providerDir = join(STAGE, 'cuda');
  untar(cudaTgz, providerDir, ['package/package.json', 'package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so', 'package/Plugins/Linux/x64/libonnxruntime_providers_shared.so']);
  const ortBin = join(ortDir, 'bin', 'napi-v6', 'linux', 'x64');
  cpSync(join(providerDir, 'Plugins/Linux/x64/libonnxruntime_providers_shared.so'), join(ortBin, 'libonnxruntime_providers_shared.so'));
  const packages = ['sharp', '@img/sharp-linux-x64', '@img/sharp-libvips-linux-x64', '@img/colour', 'detect-libc', 'semver', 'prom-client', 'tdigest', 'bintrees', '@opentelemetry/api', '@cornerstonejs/codec-libjpeg-turbo-8bit'];
  for (const name of packages) {
    cpSync(installedPackage(name), join(modules, name), { recursive: true, dereference: true });
  }
  await bundleJs(app);
  for (const deb of loaderDebs()) cpSync(deb, join(app, 'debs', deb.split('/').pop()!));

  const out = join(STAGE, 'payload');
  mkdirSync(out, { recursive: true });
  step('tar + gzip -1 app/ (runtime.tar.gz)');
  run('sh', ['-c', `tar -C "${STAGE}" -cf - app | gzip -1 > "${join(out, 'runtime.tar.gz')}"`]);
  cpSync(xzCached(process.execPath, 'node', 6), join(out, 'node.xz'));
  const cudaLib = join(providerDir, 'Plugins/Linux/x64/libonnxruntime_providers_cuda.so');
  const cudaName = cudaProvider(cudaLib, out);
  const names = ['node.xz', 'runtime.tar.gz', cudaName];
  const contents = await Promise.all(names.map(async (name) => ({ name, bytes: statSync(join(out, name)).size, sha256: await sha256File(join(out, name)) })));
  const versions = { node: process.version, onnxruntime_node: ORT_VERSION, cuda_provider: CUDA_PACKAGE, sharp: (await import('sharp')).default.versions };
  writeFileSync(join(out, 'contents.json'), JSON.stringify({ versions, contents }, null, 2) + '\n');
  run('tar', ['-C', out, '-cf', join(STAGE, 'payload.tar'), 'contents.json', ...names]);

  const tree = treeBytes();
  const budget = process.env.GPU_PACK_PART_MIB ? Number(process.env.GPU_PACK_PART_MIB) * MIB : partBudget(tree);
  step(`cutting payload.tar into parts of at most ${budget / MIB} MiB (working tree ${(tree / MIB).toFixed(1)} MiB travels with each)`);
  const set = await writeParts(join(STAGE, 'payload.tar'), 'payload.tar', PARTS, budget);
  // The merges file travels beside the first part: the RN50 exports start before the join.
  cpSync(VOCAB, join(PARTS, 'vocab.txt.gz'));
  writeFileSync(join(PARTS, 'vocab.sha256'), `${await sha256File(VOCAB)}  vocab.txt.gz\n`);
  const manifest = { created: new Date().toISOString(), tree_bytes: tree, ...set, versions, contents };
  writeFileSync(join(PARTS, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  rmSync(join(STAGE, 'payload.tar'));
  for (const c of contents) step(`  ${c.name.padEnd(22)} ${(c.bytes / MIB).toFixed(1).padStart(6)} MiB`);
  for (const p of set.parts) step(`  part ${p.name}  ${(p.bytes / MIB).toFixed(1).padStart(6)} MiB  ${p.sha256.slice(0, 12)}`);
  step(`${set.parts.length} parts, ${(set.payload.bytes / MIB).toFixed(1)} MiB in all, in ${PARTS.replace(ROOT + '/', '')}/ (bench/gpu-run/README.md: the device calls)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`gpu:pack failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
