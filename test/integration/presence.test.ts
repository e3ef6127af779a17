/**
 * A bundle whose head has a presence output (random-init, exported by the project's exporter with
 * --presence), in-process and through the whole local stack (edge + GPU service + s3rver): every
 * phrase reports its presence probability; presence_threshold decides `found` around it, live
 * through the edge (multipart and JSON), as part of the result key; a phrase not found answers a
 * valid empty mask in every format, which the SDK decodes; each phrase is one billed unit.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentResultSchema, type SegmentResult } from '../../contract/segment.js';
import { createLocalPipeline } from '../../gpu-service/src/pipeline/local.js';
import { loadBundle } from '../../gpu-service/src/pipeline/load.js';
import { createClient, maskToBitmap, rleCounts, type CrisClient } from '../../sdk/index.js';
import { randomSmallPresenceBundle } from '../helpers/golden.js';
import { area } from '../helpers/stack-masks.js';
import { samples, startStack, type Stack } from '../helpers/stack.js';

let bundleDir: string;
let stack: Stack;
let cris: CrisClient;
const [sample] = samples();
const PHRASE = 'the purple star';

beforeAll(async () => {
  bundleDir = await randomSmallPresenceBundle();
  stack = await startStack({ port: 18370, bundleDir });
  cris = createClient({ endpoint: stack.origin, apiKey: stack.apiKey });
}, 600_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a bundle with a presence output', () => {
  it('in-process: presence is the same probability at any threshold, and the threshold decides found', async () => {
    const engine = await createLocalPipeline({ bundleDir, provider: 'cpu', threads: 1 });
    try {
      expect(engine.bundle.manifest.graphs.head.outputs.map((o) => o.name)).toEqual(['logits', 'presence']);
      expect(engine.bundle.manifest.presence_threshold).toBeGreaterThanOrEqual(0);
      const image = await readFile(sample!.image);
      const phrases = [PHRASE, sample!.phrase];
      const open = await engine.segment(image, phrases, { presence_threshold: 0 });
      const closed = await engine.segment(image, phrases, { presence_threshold: 1 });
      for (const [i, r] of open.results.entries()) {
        expect(r.presence).toBeGreaterThan(0);
        expect(r.presence).toBeLessThan(1);
        expect(closed.results[i]!.presence).toBe(r.presence);
        expect(r.found).toBe(r.area > 0);
        expect(closed.results[i]).toMatchObject({ found: false, area: 0, regions: 0, score: 0, bbox: [0, 0, 0, 0] });
      }
    } finally {
      await engine.close();
    }
  }, 120_000);

  it('a manifest that leaves out the graph\'s presence output is refused, naming the field', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'presence-undeclared-'));
    try {
      cpSync(bundleDir, copy, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8'));
      manifest.graphs.head.outputs = manifest.graphs.head.outputs.slice(0, 1);
      delete manifest.presence_threshold;
      writeFileSync(join(copy, 'manifest.json'), JSON.stringify(manifest));
      await expect(loadBundle(copy, { provider: 'cpu', threads: 1 })).rejects.toThrow(
        /manifest\.graphs\.head\.outputs: names \["logits"\] but the ONNX graph has \["logits","presence"\]/,
      );
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 120_000);

  it('through the edge: presence_threshold decides found around the presence; not found is an empty mask in every format', async () => {
    const image = await readFile(sample!.image);
    const { width, height } = await sharp(image).metadata();
    const billed = async () => (await cris.usage()).totals.billable;
    const before = await billed();

    const open = await cris.segment({ image, text: PHRASE, format: 'rle', presence_threshold: 0 });
    const [seen] = open.results;
    const presence = seen!.presence!;
    expect(presence).toBeGreaterThan(0);
    expect(presence).toBeLessThan(1);
    expect(seen!.found).toBe(seen!.area > 0);

    // just below the presence: found (when the mask is not empty); just above: not found
    const below = await cris.segment({ image, text: PHRASE, format: 'rle', presence_threshold: Math.max(0, presence - 1e-3) });
    expect(below.results[0]).toMatchObject({ presence, found: seen!.area > 0, area: seen!.area });
    expect(below.id).not.toBe(open.id);

    const answers: Record<string, SegmentResult> = {
      polygon: await cris.segment({ image, text: PHRASE, format: 'polygon', presence_threshold: Math.min(1, presence + 1e-3) }),
      png: await cris.segment({ image, text: PHRASE, format: 'png', presence_threshold: Math.min(1, presence + 1e-3) }),
    };
    const json = await fetch(`${stack.origin}/v1/segment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: image.toString('base64'), text: PHRASE, format: 'rle', presence_threshold: Math.min(1, presence + 1e-3) }),
    });
    expect(json.status).toBe(200);
    answers.rle = SegmentResultSchema.parse(await json.json());
    for (const [format, answer] of Object.entries(answers)) {
      expect(answer.results[0], format).toMatchObject({ text: PHRASE, found: false, presence, score: 0, bbox: [0, 0, 0, 0], area: 0, regions: 0 });
      const bitmap = await maskToBitmap(answer.results[0]!.mask, answer.width, answer.height);
      expect([bitmap.width, bitmap.height, area(bitmap)]).toEqual([width, height, 0]);
    }
    const masks = Object.fromEntries(Object.entries(answers).map(([f, a]) => [f, a.results[0]!.mask]));
    expect(masks.polygon).toEqual({ format: 'polygon', coordinates: [] });
    if (masks.rle!.format !== 'rle' || masks.png!.format !== 'png') throw new Error('formats');
    expect(masks.rle.size).toEqual([height, width]);
    expect(rleCounts(masks.rle.counts)).toEqual([width! * height!]);
    const meta = await sharp(Buffer.from(masks.png.data, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', width, height, 1]);
    expect(await billed()).toBe(before + 5); // five computed phrases, found or not
  }, 240_000);
});
