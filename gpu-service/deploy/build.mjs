// Bundles the GPU service into plain JavaScript for production images:
//   node gpu-service/deploy/build.mjs [OUT_DIR]      (default dist/gpu-service)
//   node dist/gpu-service/main.mjs                    (no TypeScript loader at run time)
// The main thread and the worker threads each load TypeScript through tsx otherwise (one
// loader thread apiece); the bundle removes that start-up cost. npm packages stay external
// (onnxruntime-node and sharp are native). esbuild comes with tsx, a runtime dependency.
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = resolve(process.argv[2] ?? join(root, 'dist', 'gpu-service'));
const started = performance.now();
await build({
  entryPoints: {
    main: join(root, 'gpu-service/src/main.ts'),
    'worker-thread': join(root, 'gpu-service/src/worker/worker-thread.ts'),
  },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
// The pool starts workers from `bootstrap.mjs` next to the code (in src/ it registers tsx).
await writeFile(join(out, 'bootstrap.mjs'), "await import('./worker-thread.mjs');\n");
console.log(`gpu-service bundled into ${out} in ${Math.round(performance.now() - started)} ms`);
