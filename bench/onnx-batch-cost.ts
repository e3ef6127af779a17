/**
 * What batching can save on this machine, measured on onnxruntime alone (the service's own
 * runner, in-process, nothing else running): 8 image-phrase pairs as 8 batches of one vs one
 * batch of 8 (image encoder + head), at 1 and 2 intra-op threads, in wall time and in CPU time of
 * the whole process. On a CPU, a batch saves little CPU time; most of its wall-time gain is the
 * second thread, which a batch of one cannot use well. Used by bench/service.ts.
 */
import { cpuUsage } from 'node:process';
import type { Bundle } from '../gpu-service/src/bundle/index.js';
import { createOnnxRunner } from '../gpu-service/src/inference/onnx-runner.js';
import { median } from './stats.js';

export interface BatchCost {
  threads: number;
  /** Medians over the rounds, for all 8 pairs. */
  single: { wallMs: number; cpuMs: number };
  batched: { wallMs: number; cpuMs: number };
}

const PAIRS = 8;
const ROUNDS = 7;

async function measure(run: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = cpuUsage();
  const started = performance.now();
  await run();
  const used = cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

export async function onnxBatchCost(bundle: Bundle, threads: number): Promise<BatchCost> {
  const runner = await createOnnxRunner(bundle, { provider: 'cpu', threads, spinning: false });
  try {
    const { size } = bundle.manifest.input;
    const wordLen = bundle.manifest.text.word_len;
    const { sot_id: sot, eot_id: eot } = bundle.manifest.text.tokenizer;
    const imageSize = 3 * size * size;
    const images = new Float32Array(PAIRS * imageSize).map(() => Math.random() - 0.5); // [8, 3, S, S]
    const tokens = new BigInt64Array(PAIRS * wordLen); // [8, L]: SOT, one word, EOT
    for (let row = 0; row < PAIRS; row++) tokens.set([BigInt(sot), 20n, BigInt(eot)], row * wordLen);
    const single = async () => {
      for (let row = 0; row < PAIRS; row++) {
        const [features] = await runner.encodeImages(images.subarray(row * imageSize, (row + 1) * imageSize), 1);
        await runner.runHead([features], tokens.subarray(row * wordLen, (row + 1) * wordLen));
      }
    };
    const batched = async () => runner.runHead(await runner.encodeImages(images, PAIRS), tokens);
    await single();
    await batched();
    const rounds: { single: { wallMs: number; cpuMs: number }; batched: { wallMs: number; cpuMs: number } }[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push({ single: await measure(single), batched: await measure(batched) });
    const pick = (key: 'single' | 'batched') => ({
      wallMs: median(rounds.map((r) => r[key].wallMs)),
      cpuMs: median(rounds.map((r) => r[key].cpuMs)),
    });
    return { threads, single: pick('single'), batched: pick('batched') };
  } finally {
    await runner.close();
  }
}

export function describeBatchCost(cost: BatchCost): string {
  const { single, batched } = cost;
  return (
    `onnxruntime alone, ${cost.threads} intra-op thread${cost.threads > 1 ? 's' : ''}, ${PAIRS} image-phrase pairs: ` +
    `8 x batch 1 ${single.wallMs.toFixed(0)} ms wall / ${single.cpuMs.toFixed(0)} ms CPU, ` +
    `1 x batch 8 ${batched.wallMs.toFixed(0)} ms wall / ${batched.cpuMs.toFixed(0)} ms CPU ` +
    `(wall ${(single.wallMs / batched.wallMs).toFixed(2)}x, CPU ${(single.cpuMs / batched.cpuMs).toFixed(2)}x)`
  );
}
