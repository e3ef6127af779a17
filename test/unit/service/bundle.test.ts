import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BundleError,
  checkGraphSignature,
  modelName,
  parseManifest,
  readBundle,
  readOnnxMetadata,
  sha256File,
} from '../../../gpu-service/src/bundle/index.js';
import { loadBundle } from '../../../gpu-service/src/pipeline/load.js';
import { createOnnxRunner } from '../../../gpu-service/src/inference/onnx-runner.js';
import { loadTokenizer } from '../../../gpu-service/src/tokenizer/index.js';
import { randomSmallBundle, REPO_ROOT } from '../../helpers/golden.js';

let bundleDir: string;
let manifestJson: Record<string, any>;
beforeAll(async () => {
  bundleDir = await randomSmallBundle();
  manifestJson = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
}, 600_000);

const copies: string[] = [];
afterAll(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const clone = () => structuredClone(manifestJson);

/** A copy of the bundle in a temp folder, with the manifest changed by `edit`. */
function copyWith(edit: (m: Record<string, any>) => void, fileEdit?: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  copies.push(dir);
  cpSync(bundleDir, dir, { recursive: true });
  const m = clone();
  edit(m);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  fileEdit?.(dir);
  return dir;
}

describe('bundle manifest', () => {
  it('accepts the exporter output and names the model id@version', async () => {
    const bundle = await readBundle(bundleDir);
    expect(modelName(bundle.manifest)).toBe('test-small@1.0.0');
    expect(bundle.manifest.input.size).toBe(224);
    expect(bundle.manifest.graphs.head.outputs[0].shape).toEqual(['batch', 1, 56, 56]);
  });

  it.each([
    ['format', (m: any) => (m.format = 'cris-bundle/2'), /manifest\.format/],
    ['id', (m: any) => (m.id = 'Bad Id'), /manifest\.id/],
    ['tokens dtype', (m: any) => (m.graphs.head.inputs[3].dtype = 'int32'), /manifest\.graphs\.head\.inputs\[3\]\.dtype/],
    ['logits shape', (m: any) => (m.graphs.head.outputs[0].shape = ['batch', 1, 50, 50]), /manifest\.graphs\.head\.outputs\[0\]\.shape/],
    ['vocab layout', (m: any) => (m.text.tokenizer.vocab_size = 49000), /manifest\.text\.tokenizer\.vocab_size/],
    ['threshold', (m: any) => (m.output.threshold = 1.5), /manifest\.output\.threshold/],
    ['file path escape', (m: any) => (m.graphs.head.file = '../head.onnx'), /manifest\.graphs\.head\.file/],
    ['missing sha', (m: any) => delete m.files['head.onnx'], /manifest\.files\.head\.onnx/],
  ])('refuses a bad %s, naming the field', (_name, edit, message) => {
    const m = clone();
    edit(m);
    expect(() => parseManifest(m)).toThrow(BundleError);
    expect(() => parseManifest(m)).toThrow(message);
  });

  it('refuses a file whose sha256 does not match', async () => {
    const dir = copyWith(() => {}, (d) => writeFileSync(join(d, 'bpe_merges.txt.gz'), 'tampered'));
    await expect(readBundle(dir)).rejects.toThrow(/manifest\.files\["bpe_merges\.txt\.gz"\]: sha256/);
  });

  it('reads the cris.* metadata_props of both graphs', async () => {
    for (const file of ['image_encoder.onnx', 'head.onnx']) {
      expect(await readOnnxMetadata(join(bundleDir, file))).toMatchObject({
        'cris.id': 'test-small',
        'cris.version': '1.0.0',
        'cris.format': 'cris-bundle/1',
      });
    }
  });

  it('refuses a bundle whose ONNX metadata disagrees with the manifest (version bumped without re-export)', async () => {
    const dir = copyWith((m) => (m.version = '2.0.0'));
    const bundle = await readBundle(dir);
    await expect(createOnnxRunner(bundle, { provider: 'cpu', threads: 1 })).rejects.toThrow(
      /metadata_props\["cris\.version"\]: "1\.0\.0" but manifest says "2\.0\.0"/,
    );
  });

  it('refuses a session whose inputs differ from the manifest', () => {
    const spec = manifestJson.graphs.head;
    const inputs = spec.inputs.map((i: any) => ({ name: i.name, type: i.dtype, shape: i.shape }));
    const outputs = [{ name: 'logits', type: 'float32', shape: ['batch', 1, 56, 56] }];
    expect(checkGraphSignature('head', spec, inputs, outputs)).toEqual([]);
    const wrongType = inputs.map((i: any) => (i.name === 'tokens' ? { ...i, type: 'int32' } : i));
    expect(checkGraphSignature('head', spec, wrongType, outputs)[0]).toMatch(/inputs\[3\]\.dtype: int64 but the ONNX graph has int32/);
    const fixedBatch = inputs.map((i: any, k: number) => (k === 0 ? { ...i, shape: [1, ...i.shape.slice(1)] } : i));
    expect(checkGraphSignature('head', spec, fixedBatch, outputs)[0]).toMatch(/inputs\[0\]\.shape/);
    expect(checkGraphSignature('head', spec, inputs.slice(1), outputs)[0]).toMatch(/names/);
  });
});

describe('onnx runner', () => {
  it('runs on CPU when asked, reports the provider, and gives logits [B, G*G]', async () => {
    const bundle = await readBundle(bundleDir);
    const runner = await createOnnxRunner(bundle, { provider: 'cpu', threads: 1 });
    expect(runner.provider).toBe('cpu');
    const S = bundle.manifest.input.size;
    const images = new Float32Array(2 * 3 * S * S); // [2, 3, S, S]
    images.fill(0.5, 3 * S * S);
    const features = await runner.encodeImages(images, 2);
    expect(features).toHaveLength(2);
    expect(features[0].tensors.c3.dims).toEqual(bundle.manifest.graphs.image_encoder.outputs[0].shape.slice(1));
    const tokenizer = await loadTokenizer(bundle);
    const tokens = tokenizer.tokenize(['the red circle', 'the blue square', 'a star'], bundle.manifest.text.word_len);
    const { logits, presence } = await runner.runHead([features[0], features[1], features[0]], tokens);
    const G = S / bundle.manifest.output.stride;
    expect(logits.length).toBe(3 * G * G);
    expect(presence).toBeNull(); // this bundle has no presence output
    // Batch rows are independent: row 0 alone gives the same logits.
    const { logits: single } = await runner.runHead([features[0]], tokens.subarray(0, bundle.manifest.text.word_len));
    let maxDiff = 0;
    for (let i = 0; i < G * G; i++) maxDiff = Math.max(maxDiff, Math.abs(single[i] - logits[i]));
    expect(maxDiff).toBeLessThan(1e-3);
    await runner.close();
  });

  it('refuses cuda when CUDA cannot be loaded, and auto falls back to cpu saying why', async () => {
    const bundle = await readBundle(bundleDir);
    const messages: string[] = [];
    const auto = await createOnnxRunner(bundle, { provider: 'auto', threads: 1, log: (m) => messages.push(m) });
    try {
      if (auto.provider === 'cpu') {
        expect(messages.join('\n')).toMatch(/CUDA execution provider unavailable/);
        await expect(createOnnxRunner(bundle, { provider: 'cuda', threads: 1 })).rejects.toThrow(/execution provider cuda cannot be used/);
      } else {
        // On a machine with a working CUDA provider, 'cuda' must give cuda too.
        const cuda = await createOnnxRunner(bundle, { provider: 'cuda', threads: 1 });
        expect(cuda.provider).toBe('cuda');
        await cuda.close();
      }
    } finally {
      await auto.close();
    }
  });

  it('webgpu is asserted: without a WebGPU adapter it fails loudly, never a silent CPU session', async () => {
    const bundle = await readBundle(bundleDir);
    const messages: string[] = [];
    let runner: Awaited<ReturnType<typeof createOnnxRunner>> | undefined;
    let failure: unknown;
    try {
      runner = await createOnnxRunner(bundle, { provider: 'webgpu', threads: 1, log: (m) => messages.push(m) });
    } catch (error) {
      failure = error;
    }
    if (runner) {
      // A machine where Dawn finds an adapter: the runner must then really be on WebGPU.
      expect(runner.provider).toBe('webgpu');
      expect(messages.join('\n')).toContain('onnxruntime webgpu provider');
      await runner.close();
    } else {
      expect(String(failure)).toMatch(/execution provider webgpu cannot be used: .*adapter/i);
      expect(messages.join('\n')).not.toMatch(/using CPU|onnxruntime cpu provider/);
    }
  });

  it('a CPU-only onnxruntime-node is not asked for CUDA at all: auto says why, no native error line', async () => {
    const binDir = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
    const cudaInstalled = readdirSync(binDir).some((name) => name.startsWith('libonnxruntime_providers_cuda.so'));
    const script = join(mkdtempSync(join(tmpdir(), 'cris-ort-')), 'auto.mts');
    copies.push(dirname(script));
    writeFileSync(script, `
      import { readBundle } from ${JSON.stringify(join(REPO_ROOT, 'gpu-service/src/bundle/index.ts'))};
      import { createOnnxRunner } from ${JSON.stringify(join(REPO_ROOT, 'gpu-service/src/inference/onnx-runner.ts'))};
      const runner = await createOnnxRunner(await readBundle(${JSON.stringify(bundleDir)}), { provider: 'auto', threads: 1, log: (m) => console.log(m) });
      console.log('provider=' + runner.provider);
      await runner.close();
    `);
    const { stdout, stderr } = await promisify(execFile)(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [script], { cwd: REPO_ROOT });
    if (cudaInstalled) {
      expect(stdout).toMatch(/provider=(cuda|cpu)/); // the probe runs; its outcome depends on the GPU
    } else {
      expect(stdout).toContain('CUDA execution provider unavailable (a CPU-only onnxruntime-node: no libonnxruntime_providers_cuda.so');
      expect(stdout).toContain('provider=cpu');
      expect(stderr).not.toMatch(/onnxruntime|ONNXRuntimeError/);
    }
  }, 60_000);

  it('loadBundle gives the checked bundle, its runner and its tokenizer, and refuses a bad one', async () => {
    const loaded = await loadBundle(bundleDir, { provider: 'cpu', threads: 1 });
    expect(loaded.runner.provider).toBe('cpu');
    expect(loaded.tokenizer.vocabSize).toBe(loaded.bundle.manifest.text.tokenizer.vocab_size);
    await loaded.runner.close();
    const renamed = copyWith((m) => (m.id = 'other-id'));
    await expect(loadBundle(renamed, { provider: 'cpu', threads: 1 })).rejects.toThrow(/metadata_props\["cris\.id"\]/);
  });

  it('sha256File streams the same digest as a one-shot hash', async () => {
    const { createHash } = await import('node:crypto');
    const file = join(bundleDir, 'manifest.json');
    expect(await sha256File(file)).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
  });
});
