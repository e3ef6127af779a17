/**
 * Loading a bundle for running: manifest + sha256 (readBundle), then the ONNX sessions with their
 * metadata and signatures checked against the manifest (createOnnxRunner), then the tokenizer.
 * Throws BundleError naming the field on any mismatch.
 */
import { readBundle, type Bundle } from '../bundle/index.js';
import { createOnnxRunner, type RunnerOptions } from '../inference/onnx-runner.js';
import { loadTokenizer, type ClipTokenizer } from '../tokenizer/index.js';
import type { ModelRunner } from '../core/types.js';

export interface LoadedBundle {
  bundle: Bundle;
  runner: ModelRunner;
  tokenizer: ClipTokenizer;
}

export async function loadBundle(dir: string, options: RunnerOptions): Promise<LoadedBundle> {
  const bundle = await readBundle(dir);
  const tokenizer = await loadTokenizer(bundle);
  const runner = await createOnnxRunner(bundle, options);
  return { bundle, runner, tokenizer };
}
