/**
 * The real service's answers (tsx gpu-service/src/main.ts over HTTP, the shipped bundle or the
 * test bundle) equal, field for field, what the post-processing before the fast path computes
 * from the same logits: the same bundle run in-process (one intra-op thread on both sides, so the
 * logits are the same), its logits post-processed and encoded by test/helpers/postprocess-reference.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsToString } from '../../contract/rle.js';
import type { Mask, MaskFormat, SegmentResult } from '../../contract/segment.js';
import type { PhraseMask } from '../../gpu-service/src/core/types.js';
import { notFound, presenceProbability, presenceRulesOut } from '../../gpu-service/src/masks/presence.js';
import { FeatureCache } from '../../gpu-service/src/pipeline/feature-cache.js';
import { imagingParts } from '../../gpu-service/src/pipeline/imaging-parts.js';
import { InProcessBackend } from '../../gpu-service/src/pipeline/in-process-backend.js';
import { loadBundle } from '../../gpu-service/src/pipeline/load.js';
import { createSegmentPipeline, type SegmentPipeline } from '../../gpu-service/src/pipeline/segment-pipeline.js';
import { scene } from '../../bench/load.js';
import { referenceLogitsToPhraseMask, referenceMaskToPolygons, referenceMaskToRuns } from '../helpers/postprocess-reference.js';
import { defaultTestBundle, startService, type ServiceHandle } from '../helpers/service-process.js';
import { segmentInit } from '../helpers/service-requests.js';

const PORT = 18470;
const PHRASES = ['the round shape', 'the square shape', 'the red circle', 'the smallest object'];

let service: ServiceHandle;
let reference: { segment: SegmentPipeline; close(): Promise<void> };

/** The in-process pipeline with the reference post-processing and encoders. */
async function referencePipeline(bundleDir: string) {
  const { bundle, runner, tokenizer } = await loadBundle(bundleDir, { provider: 'cpu', threads: 1 });
  const { manifest } = bundle;
  const parts = imagingParts(manifest.input);
  const backend = new InProcessBackend({
    runner,
    cache: new FeatureCache({ maxEntries: 0, maxBytes: 0 }),
    prepare: parts.prepare,
    postprocess: (logits, transform, threshold, presenceInput): PhraseMask => {
      const presence = presenceProbability(presenceInput);
      if (presenceRulesOut(presence, presenceInput.threshold)) return notFound(transform.width, transform.height, presence);
      return { ...referenceLogitsToPhraseMask(logits, transform, threshold), presence };
    },
    encodeMask: async (phrase, format): Promise<Mask> => {
      if (format === 'rle') return { format, size: [phrase.height, phrase.width], counts: runsToString(referenceMaskToRuns(phrase.mask, phrase.width, phrase.height)) };
      if (format === 'polygon') return { format, coordinates: referenceMaskToPolygons(phrase.mask, phrase.width, phrase.height) };
      return parts.encodeMask(phrase, format);
    },
  });
  const segment = createSegmentPipeline({
    model: 'reference',
    defaultThreshold: manifest.output.threshold,
    defaultPresenceThreshold: manifest.presence_threshold,
    prepareImage: (bytes, originalSize) => backend.prepare(bytes, originalSize),
    tokenize: (texts) => tokenizer.tokenize(texts, manifest.text.word_len),
    submit: async (item) => {
      const output = await backend.run({ items: [item], maxBatch: 16 });
      return { item: output.items[0], stats: output.stats, queueMs: 0 };
    },
    postprocess: (input) => backend.postprocess(input),
  });
  return { segment, close: () => runner.close() };
}

beforeAll(async () => {
  reference = await referencePipeline(defaultTestBundle());
  service = await startService({
    port: PORT,
    env: { CRIS_INSECURE_NO_AUTH: '1', CRIS_HMAC_SECRET: '', CRIS_THREADS: '1', CRIS_WORKERS: '1', CRIS_FEATURE_CACHE_ENTRIES: '0', CRIS_LOG_LEVEL: 'warn' },
  });
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await reference?.close();
});

describe('the service post-processing over HTTP', () => {
  it('answers every mask, score, bbox, area, regions, RLE string and polygon as the reference post-processing', { timeout: 120_000 }, async () => {
    let found = 0;
    for (const [seed, format] of [[1, 'rle'], [2, 'polygon'], [3, 'rle'], [4, 'polygon'], [5, 'polygon']] as Array<[number, MaskFormat]>) {
      const image = await scene(seed);
      const response = await fetch(`${service.url}/v1/segment`, await segmentInit({ image, texts: PHRASES, options: { format } }, undefined));
      expect(response.status, await response.clone().text()).toBe(200);
      const answer = (await response.json()) as SegmentResult;
      const expected = await reference.segment({ image, phrases: PHRASES, options: { format }, resultKey: 'reference' }, { wantPng: false });
      expect(answer.results, `scene ${seed} ${format}`).toEqual(expected.result.results);
      found += answer.results.filter((result) => result.found && result.area > 0).length;
    }
    expect(found).toBeGreaterThan(0); // masks were compared, not only empty answers
  });
});
