/**
 * The scratch arrays a thread reuses from request to request (core/array-pool.ts: decoded pixels,
 * the fused worker's network input, the post-processing's maps and masks) never leak from one
 * request into another: with the real bundle, different images (sizes, PNG with and without
 * alpha, JPEG) and phrases in a row, concurrently and batched, through one shared pool that
 * poisons what is given back, answer exactly what each request answers alone with no pool at
 * all (the code path before the pool). Then the same over HTTP: the real service (imaging in the
 * inference worker, batching on) answers sequential, concurrent and batched requests exactly as
 * each request answers alone, in-process and pool-free.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaskFormat } from '../../contract/segment.js';
import { ArrayPool, DEFAULT_ARRAY_POOL_LIMITS } from '../../gpu-service/src/core/array-pool.js';
import type { BatchItemInput, FusedItemOutput, PhraseOutput } from '../../gpu-service/src/core/jobs.js';
import { prepareImage } from '../../gpu-service/src/imaging/index.js';
import { encodeMask, logitsToPhraseMask } from '../../gpu-service/src/masks/index.js';
import { postprocessItem, runInference } from '../../gpu-service/src/pipeline/batch-executor.js';
import { FeatureCache } from '../../gpu-service/src/pipeline/feature-cache.js';
import { runFusedJob, type FusedDeps } from '../../gpu-service/src/pipeline/fused-job.js';
import { imagingParts } from '../../gpu-service/src/pipeline/imaging-parts.js';
import { loadBundle, type LoadedBundle } from '../../gpu-service/src/pipeline/load.js';
import { scene } from '../../bench/load.js';
import { defaultTestBundle, startService, type ServiceHandle } from '../helpers/service-process.js';
import { segmentInit } from '../helpers/service-requests.js';

const PORT = 18480;

interface Case {
  image: Uint8Array;
  phrases: string[];
  format: MaskFormat;
  threshold?: number;
}

let loaded: LoadedBundle;
let cases: Case[];

async function rgbPng(seed: number, width: number, height: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp(await scene(seed, width, height)).removeAlpha().png().toBuffer()); // colour type 2
}

/** The batch item of a case, its image carried raw (the fused path). */
function item({ image, phrases, format, threshold }: Case): BatchItemInput {
  const { manifest } = loaded.bundle;
  return {
    tensor: new Float32Array(0),
    sha256: '',
    tokens: loaded.tokenizer.tokenize(phrases, manifest.text.word_len),
    phraseCount: phrases.length,
    raw: { bytes: image, threshold: threshold ?? manifest.output.threshold, presenceThreshold: manifest.presence_threshold ?? 0, formats: [format] },
  };
}

/** An answer without its timings. */
function answer(fused: FusedItemOutput | undefined): { transform: unknown; phrases: PhraseOutput[] } {
  if (!fused || 'error' in fused) throw new Error(`no answer: ${JSON.stringify(fused)}`);
  return { transform: fused.transform, phrases: fused.output.phrases };
}

/** Deps without any pool: fresh arrays everywhere, the code path before scratch reuse. */
function poolFreeDeps(): FusedDeps {
  const input = loaded.bundle.manifest.input;
  return {
    runner: loaded.runner,
    cache: new FeatureCache({ maxEntries: 0, maxBytes: 0 }),
    postprocess: logitsToPhraseMask,
    encodeMask,
    prepare: (bytes, originalSize, sha256) => prepareImage(bytes, input, { originalSize, sha256 }),
  };
}

/** One shared pool that poisons given-back arrays (a read after give changes the answer). */
function sharedDeps(): FusedDeps & { pool: ArrayPool } {
  const pool = new ArrayPool({ ...DEFAULT_ARRAY_POOL_LIMITS, poison: true });
  return { runner: loaded.runner, cache: new FeatureCache({ maxEntries: 0, maxBytes: 0 }), ...imagingParts(loaded.bundle.manifest.input, pool), pool };
}

let alone: ReturnType<typeof answer>[];

beforeAll(async () => {
  loaded = await loadBundle(defaultTestBundle(), { provider: 'cpu', threads: 1 });
  cases = [
    { image: await scene(1), phrases: ['the round shape'], format: 'rle' },
    { image: await scene(2, 500, 340), phrases: ['the square shape', 'the red circle'], format: 'polygon' },
    { image: await rgbPng(3, 470, 370), phrases: ['the smallest object'], format: 'rle', threshold: 0.3 },
    { image: await scene(4, 320, 480, 'jpeg'), phrases: ['the round shape', 'nothing at all here'], format: 'png' },
    { image: await scene(5, 640, 480), phrases: ['the square shape'], format: 'rle', threshold: 0.9 },
    { image: await scene(1), phrases: ['the square shape'], format: 'polygon' }, // the first image again, another phrase
  ];
  alone = [];
  for (const c of cases) alone.push(answer((await runFusedJob(poolFreeDeps(), { items: [item(c)], maxBatch: 8 })).items[0].fused));
}, 120_000);

afterAll(async () => {
  await loaded?.runner.close();
});

describe('scratch arrays reused between requests (in-process, one poisoning pool)', () => {
  it('answers different images and phrases in a row, twice over, as each alone without a pool', { timeout: 60_000 }, async () => {
    const deps = sharedDeps();
    for (let round = 0; round < 2; round++) {
      for (const [index, c] of cases.entries()) {
        expect(answer((await runFusedJob(deps, { items: [item(c)], maxBatch: 8 })).items[0].fused)).toEqual(alone[index]);
      }
    }
    expect(deps.pool.reused).toBeGreaterThan(cases.length * 4); // the buffers were reused, not fresh each time
  });

  it('answers them concurrently (interleaved at every await) as each alone', { timeout: 60_000 }, async () => {
    const deps = sharedDeps();
    const outputs = await Promise.all([...cases, ...cases].map((c) => runFusedJob(deps, { items: [item(c)], maxBatch: 8 })));
    expect(outputs.map((output) => answer(output.items[0].fused))).toEqual([...alone, ...alone]);
  });

  it('answers them in batches (encoder and head chunks of 4) as each alone', { timeout: 60_000 }, async () => {
    const deps = sharedDeps();
    for (const maxBatch of [4, 8]) {
      const output = await runFusedJob(deps, { items: cases.map(item), maxBatch });
      expect(output.items.map((i) => answer(i.fused))).toEqual(alone);
    }
  });

  it('post-processes concurrently in an imaging thread’s way (fresh tensors, the pool for masks) as each alone', { timeout: 60_000 }, async () => {
    const deps = sharedDeps();
    const outputs = await Promise.all(
      cases.map(async (c) => {
        const prepared = await deps.prepare(c.image); // no tensor pool: the tensor would cross threads
        const { raw, ...rest } = item(c);
        const inferred = await runInference(deps, { items: [{ ...rest, tensor: prepared.tensor, sha256: prepared.sha256 }], maxBatch: 8 });
        const { logits, presence } = inferred.items[0];
        const output = await postprocessItem(deps, { ...raw!, logits, presence, phraseCount: c.phrases.length, transform: prepared.transform });
        return { transform: prepared.transform, phrases: output.phrases };
      }),
    );
    expect(outputs).toEqual(alone);
  });
});

describe('scratch arrays reused between requests (the service over HTTP)', () => {
  let service: ServiceHandle;

  beforeAll(async () => {
    service = await startService({
      port: PORT,
      env: {
        CRIS_INSECURE_NO_AUTH: '1',
        CRIS_HMAC_SECRET: '',
        CRIS_THREADS: '1',
        CRIS_WORKERS: '1',
        CRIS_IMAGING_WORKERS: '0', // every request fused in the inference worker, batches too
        CRIS_MAX_BATCH: '8',
        CRIS_MAX_QUEUE_DELAY_MS: '100', // concurrent requests share a batch
        CRIS_LOG_LEVEL: 'warn',
      },
    });
  }, 180_000);

  afterAll(async () => {
    await service?.stop();
  });

  async function ask(c: Case): Promise<unknown[]> {
    const options = { format: c.format, ...(c.threshold === undefined ? {} : { threshold: c.threshold }) };
    const response = await fetch(`${service.url}/v1/segment`, await segmentInit({ image: c.image, imageType: c.image[0] === 0xff ? 'image/jpeg' : 'image/png', texts: c.phrases, options }, undefined));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { results: Record<string, unknown>[] };
    return body.results.map(({ found, presence, score, bbox, area, regions, mask }) => ({ found, presence, score, bbox, area, regions, mask }));
  }

  function expected(index: number): unknown[] {
    const c = cases[index];
    return alone[index].phrases.map(({ found, presence, score, bbox, area, regions, masks }) => ({ found, presence, score, bbox, area, regions, mask: masks[c.format] }));
  }

  it('answers in a row, concurrently and batched exactly as each request alone', { timeout: 120_000 }, async () => {
    for (const [index, c] of cases.entries()) expect(await ask(c)).toEqual(expected(index));
    const batchesBefore = await batchCount(service.url);
    const concurrent = await Promise.all([...cases, ...cases].map((c) => ask(c)));
    expect(concurrent).toEqual([...cases.keys(), ...cases.keys()].map(expected));
    expect(await batchCount(service.url)).toBeLessThan(batchesBefore + 2 * cases.length); // some requests shared a batch
  });
});

/** Batches the service has run (the cris_batch_size histogram's count). */
async function batchCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('cris_batch_size_count'));
  return Number(line?.split(' ').pop());
}
