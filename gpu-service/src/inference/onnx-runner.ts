/**
 * The onnxruntime adapter, and the only file that imports onnxruntime-node. Creates the two
 * sessions of a bundle on the requested execution provider, checks them against the manifest and
 * implements ModelRunner.
 *
 * Provider: onnxruntime silently runs on CPU when a requested GPU provider cannot be used, so a
 * GPU attempt is made with that provider as the ONLY one: if the session cannot be created, the
 * provider is not in use. 'cuda' and 'webgpu' then fail loudly (WebGPU: Dawn finds no adapter,
 * e.g. no Vulkan loader or driver); 'auto' tries CUDA, then CPU, in that order, and says why in
 * its log line. WebGPU is never an 'auto' choice: on the machines we serve from CUDA is there and
 * faster, and probing Dawn on a CPU machine costs start time and prints a native warning.
 * Where onnxruntime-node certainly has no CUDA provider library (a CPU install), the attempt is
 * not made at all: onnxruntime would print a native error line for it on every start.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BundleError, type Bundle } from '../bundle/read.js';
import { checkGraphMetadata, checkGraphSignature, readOnnxMetadata, type SessionValueInfo } from '../bundle/check.js';
import type { GraphSpec } from '../bundle/schema.js';
import type { ExecutionProvider, HeadOutput, ImageFeatures, ModelRunner, ProviderChoice } from '../core/types.js';


/** What 'auto' tries, in order (see the file comment). */
const AUTO_ORDER: readonly ExecutionProvider[] = ['cuda', 'cpu'];
const LABEL: Record<ExecutionProvider, string> = { cuda: 'CUDA', webgpu: 'WebGPU', cpu: 'CPU' };

export interface RunnerOptions {
  provider: ProviderChoice;
  /** Intra-op threads per session (onnxruntime's default when absent: one per core). */
  threads?: number;
  /**
   * false: onnxruntime's idle pool threads sleep instead of spin-waiting (its default), leaving
   * the cores to the other threads of the process between runs.
   */
  spinning?: boolean;
  /** Called once with a line describing what was chosen and why (e.g. for the start-up log). */
  log?: (message: string) => void;
}

function sessionOptions(provider: ExecutionProvider, options: RunnerOptions, quiet: boolean): ort.InferenceSession.SessionOptions {
  const { threads, spinning } = options;
  return {
    executionProviders: [provider === 'cuda' ? { name: 'cuda', deviceId: 0 } : { name: provider }],
    graphOptimizationLevel: 'all',
    // The 'auto' probe for CUDA fails on CPU machines by design: keep onnxruntime's own log quiet
    // then (the reason is in the exception and goes to options.log).
    ...(quiet ? { logSeverityLevel: 4 as const } : {}),
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    ...(spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
  };
}

/**
 * Why the CUDA provider certainly cannot load: onnxruntime-node loads it from the folder of its
 * native binding, where its install script puts it (the GPU image checks the same file). Null
 * when it may load (the library is there, or the package's layout is not the one known here).
 */
function cudaProviderMissing(): string | null {
  if (process.platform !== 'linux') return null;
  let binDir: string;
  try {
    const packageDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    binDir = join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
  if (!existsSync(join(binDir, 'onnxruntime_binding.node'))) return null;
  const installed = readdirSync(binDir).some((name) => name.startsWith('libonnxruntime_providers_cuda.so'));
  return installed ? null : `a CPU-only onnxruntime-node: no libonnxruntime_providers_cuda.so in ${binDir}`;
}

async function createSessions(bundle: Bundle, provider: ExecutionProvider, runnerOptions: RunnerOptions, quiet = false) {
  const graphs = bundle.manifest.graphs;
  const options = sessionOptions(provider, runnerOptions, quiet);
  const encoder = await ort.InferenceSession.create(bundle.path(graphs.image_encoder.file), options);
  try {
    const head = await ort.InferenceSession.create(bundle.path(graphs.head.file), options);
    return { encoder, head };
  } catch (error) {
    await encoder.release();
    throw error;
  }
}

/** onnxruntime's reason, without its stack: the first lines (Dawn puts the cause on the second). */
function firstLines(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n');
  return lines.map((line) => line.trim()).filter((line) => line && !line.startsWith('at ')).slice(0, 2).join(' / ');
}

function describe(values: readonly ort.InferenceSession.ValueMetadata[]): SessionValueInfo[] {
  return values.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : { name: v.name }));
}

function checkSession(bundle: Bundle, graph: 'image_encoder' | 'head', spec: GraphSpec, session: ort.InferenceSession): string[] {
  return checkGraphSignature(graph, spec, describe(session.inputMetadata), describe(session.outputMetadata));
}

/** Loads both graphs of a checked bundle (see readBundle) and returns the runner. */
export async function createOnnxRunner(bundle: Bundle, options: RunnerOptions): Promise<ModelRunner> {
  const { graphs } = bundle.manifest;
  const problems: string[] = [];
  for (const graph of ['image_encoder', 'head'] as const) {
    problems.push(...checkGraphMetadata(graph, await readOnnxMetadata(bundle.path(graphs[graph].file)), bundle.manifest));
  }
  if (problems.length > 0) throw new BundleError(bundle.dir, problems.join('; '));

  const auto = options.provider === 'auto';
  const order = auto ? AUTO_ORDER : [options.provider as ExecutionProvider];
  let sessions: Awaited<ReturnType<typeof createSessions>> | undefined;
  let provider: ExecutionProvider = order[0];
  for (const [index, candidate] of order.entries()) {
    provider = candidate;
    const last = index === order.length - 1;
    let problem = candidate === 'cuda' ? cudaProviderMissing() : null;
    if (problem === null) {
      try {
        sessions = await createSessions(bundle, candidate, options, auto && !last);
        break;
      } catch (error) {
        if (last && candidate === 'cpu') throw error;
        problem = firstLines(error);
      }
    }
    if (!auto) throw new Error(`execution provider ${candidate} cannot be used: ${problem}`);
    options.log?.(`${LABEL[candidate]} execution provider unavailable (${problem}); using ${LABEL[order[index + 1]]}`);
  }
  const { encoder, head } = sessions!;
  problems.push(...checkSession(bundle, 'image_encoder', graphs.image_encoder, encoder), ...checkSession(bundle, 'head', graphs.head, head));
  if (problems.length > 0) {
    await Promise.all([encoder.release(), head.release()]);
    throw new BundleError(bundle.dir, problems.join('; '));
  }
  options.log?.(`onnxruntime ${provider} provider${options.threads ? `, ${options.threads} intra-op threads` : ''}`);
  return new OnnxRunner(provider, encoder, head, graphs.image_encoder, graphs.head);
}

class OnnxRunner implements ModelRunner {
  constructor(
    readonly provider: ExecutionProvider,
    private readonly encoder: ort.InferenceSession,
    private readonly head: ort.InferenceSession,
    private readonly encoderSpec: GraphSpec,
    private readonly headSpec: GraphSpec,
  ) {}

  async encodeImages(images: Float32Array, batch: number): Promise<ImageFeatures[]> {
    const [input] = this.encoderSpec.inputs;
    const dims = [batch, ...input.shape.slice(1).map(Number)]; // [B, 3, S, S]
    if (images.length !== dims.reduce((a, b) => a * b, 1)) {
      throw new Error(`encodeImages: ${images.length} values do not make [${dims.join(', ')}]`);
    }
    const outputs = await this.encoder.run({ [input.name]: new ort.Tensor('float32', images, dims) });
    const features: ImageFeatures[] = Array.from({ length: batch }, () => ({ tensors: {} }));
    for (const spec of this.encoderSpec.outputs) {
      const tensor = outputs[spec.name];
      const rowDims = tensor.dims.slice(1).map(Number); // e.g. [C, H, W] without the batch
      const rowSize = rowDims.reduce((a, b) => a * b, 1);
      const data = tensor.data as Float32Array;
      for (let row = 0; row < batch; row++) {
        // A batch of one keeps onnxruntime's output array itself: no copy; rows of a larger
        // batch get arrays of their own (a cached row must not hold the whole batch alive).
        const rowData = batch === 1 ? data : data.slice(row * rowSize, (row + 1) * rowSize);
        features[row].tensors[spec.name] = { data: rowData, dims: rowDims };
      }
    }
    return features;
  }

  async runHead(features: ImageFeatures[], tokens: BigInt64Array): Promise<HeadOutput> {
    const batch = features.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of this.headSpec.inputs) {
      if (spec.dtype === 'int64') {
        const length = tokens.length / batch;
        if (!Number.isInteger(length)) throw new Error(`runHead: ${tokens.length} token ids for ${batch} rows`);
        feeds[spec.name] = new ort.Tensor('int64', tokens, [batch, length]); // [B, L]
        continue;
      }
      const first = features[0]?.tensors[spec.name];
      if (!first) throw new Error(`runHead: features lack ${spec.name}`);
      const rowSize = first.data.length;
      let stacked = first.data; // one row: the features as they are, no copy
      if (batch > 1) {
        stacked = new Float32Array(batch * rowSize); // [B, C, H, W]
        features.forEach((f, row) => stacked.set(f.tensors[spec.name].data, row * rowSize));
      }
      feeds[spec.name] = new ort.Tensor('float32', stacked, [batch, ...first.dims]);
    }
    const outputs = await this.head.run(feeds);
    const [logits, presence] = this.headSpec.outputs; // the schema allows [logits] or [logits, presence]
    return {
      logits: outputs[logits.name].data as Float32Array, // [B, 1, G, G] = [B, G*G]
      presence: presence ? (outputs[presence.name].data as Float32Array) : null, // [B, 1] = [B]
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.encoder.release(), this.head.release()]);
  }
}
