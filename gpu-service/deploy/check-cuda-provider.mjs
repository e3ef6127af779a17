// Image-build check of onnxruntime-node's CUDA execution provider (run in the GPU image, after
// the CUDA base and node_modules are in place):
//   node gpu-service/deploy/check-cuda-provider.mjs <onnxruntime bin dir> <CUDA major of the image>
// Fails (exit 1) unless the provider library is there, every shared library it and its
// siblings need resolves (`ldd`, no "not found"), and the CUDA runtime it links against
// (libcudart.so.<major>) has the image's CUDA major. Exit 0 prints what it resolved.
// One library may be missing at build time: the driver's libcuda.so.1, which no image carries
// (the NVIDIA container toolkit mounts the host driver's copy into the container at run time).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const PROVIDER = 'libonnxruntime_providers_cuda.so';
const [binDir, expectedMajor] = process.argv.slice(2);
if (!binDir || !/^\d+$/.test(expectedMajor ?? '')) {
  console.error('usage: check-cuda-provider.mjs <onnxruntime bin dir> <expected CUDA major>');
  process.exit(2);
}

const fail = (message) => {
  console.error(`check-cuda-provider: ${message}`);
  process.exit(1);
};

if (!existsSync(join(binDir, PROVIDER))) fail(`${PROVIDER} is missing from ${binDir}: the image would fall back to CPU`);
// the provider, the shared bridge it loads, the core library and the Node binding
const libraries = readdirSync(binDir).filter((name) => /\.so(\.\d+)*$|\.node$/.test(name)).sort();

/** `ldd` lines as { name, path } (path null where the loader answered "not found"). */
function dependencies(file) {
  const output = execFileSync('ldd', [file], { encoding: 'utf8', env: { ...process.env, LD_LIBRARY_PATH: [binDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } });
  return output.split('\n').map((line) => line.trim().match(/^(\S+) => (not found|\S+)/)).filter(Boolean)
    .map((match) => ({ name: match[1], path: match[2] === 'not found' ? null : match[2] }));
}

const DRIVER_LIBRARIES = new Set(['libcuda.so.1']);
const missing = [];
const fromDriver = new Set();
let cudart = null;
for (const library of libraries) {
  for (const dep of dependencies(join(binDir, library))) {
    if (!dep.path && DRIVER_LIBRARIES.has(dep.name)) fromDriver.add(dep.name);
    else if (!dep.path) missing.push(`${library}: ${dep.name} => not found`);
    const major = dep.name.match(/^libcudart\.so\.(\d+)/)?.[1];
    if (library === PROVIDER && major) cudart = { major, path: dep.path };
  }
}
if (missing.length > 0) fail(`unresolved libraries (set LD_LIBRARY_PATH or use a base image that has them):\n  ${missing.join('\n  ')}`);
if (!cudart) fail(`${PROVIDER} does not link libcudart.so.<major>: cannot tell its CUDA major`);
if (cudart.major !== expectedMajor) fail(`${PROVIDER} is built for CUDA ${cudart.major}, the image has CUDA ${expectedMajor}`);
const driverNote = fromDriver.size > 0 ? `; ${[...fromDriver].join(', ')} from the host driver at run time` : '';
console.log(`check-cuda-provider: ok: ${libraries.join(', ')} resolve; ${PROVIDER} uses CUDA ${cudart.major} (${cudart.path})${driverNote}`);
