/** `cris segment`: one image, one or more phrases, through the API or the in-process pipeline. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MaskFormat, PhraseResult, SegmentResult } from '../contract/segment.js';
import { createClient, maskToBitmap } from '../sdk/index.js';
import { writeMaskPng, writeOverlayPng } from './images.js';

export interface SegmentCommandOptions {
  image: string;
  phrases: string[];
  format: MaskFormat;
  threshold?: number;
  presenceThreshold?: number;
  out?: string;
  overlay?: string;
  json: boolean;
  local: boolean;
  bundle?: string;
  endpoint: string;
  apiKey?: string;
}

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
export const DEFAULT_BUNDLE = join(ROOT, 'models', 'cris-shapes-s');

async function segmentLocally(image: Uint8Array, options: SegmentCommandOptions): Promise<SegmentResult> {
  // Loaded on demand: the API mode needs neither onnxruntime nor the bundle.
  const { createLocalPipeline } = await import('../gpu-service/src/pipeline/local.js');
  const pipeline = await createLocalPipeline({ bundleDir: options.bundle ?? DEFAULT_BUNDLE, provider: 'cpu' });
  try {
    return await pipeline.segment(image, options.phrases, {
      format: options.format,
      threshold: options.threshold,
      presence_threshold: options.presenceThreshold,
    });
  } finally {
    await pipeline.close();
  }
}

async function segmentRemotely(image: Uint8Array, options: SegmentCommandOptions): Promise<SegmentResult> {
  if (!options.apiKey) throw new Error('an API key is needed: --key KEY or env CRIS_API_KEY (or --local)');
  const client = createClient({ endpoint: options.endpoint, apiKey: options.apiKey });
  return client.segment({
    image,
    text: options.phrases,
    format: options.format,
    threshold: options.threshold,
    presence_threshold: options.presenceThreshold,
  });
}

/** One phrase's line: what was found, or "not found" plainly. */
export function summaryLine(phrase: PhraseResult): string {
  const presence = phrase.presence === null ? '' : `presence ${phrase.presence.toFixed(3)}`;
  if (!phrase.found) return `"${phrase.text}": not found${presence ? ` (${presence})` : ''}`;
  const [x, y, w, h] = phrase.bbox;
  const parts = `${phrase.regions} ${phrase.regions === 1 ? 'region' : 'regions'}${presence ? `, ${presence}` : ''}`;
  return `"${phrase.text}": score ${phrase.score.toFixed(3)}, area ${phrase.area} px, bbox [${x}, ${y}, ${w}, ${h}], ${parts}`;
}

export async function segmentCommand(options: SegmentCommandOptions): Promise<SegmentResult> {
  const image = new Uint8Array(await readFile(options.image));
  const result = options.local ? await segmentLocally(image, options) : await segmentRemotely(image, options);
  if (options.json) console.log(JSON.stringify(result, null, 2));
  else {
    for (const phrase of result.results) console.log(summaryLine(phrase));
    console.log(`${result.model}, ${result.width}x${result.height}, ${Math.round(result.timing.total_ms)} ms${result.cached ? ', cached' : ''}`);
  }
  const first = result.results[0];
  if (first && (options.out || options.overlay)) {
    const bitmap = await maskToBitmap(first.mask, result.width, result.height);
    if (options.out) await writeMaskPng(bitmap, options.out);
    if (options.overlay) await writeOverlayPng(image, bitmap, options.overlay);
  }
  return result;
}
