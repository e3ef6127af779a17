/**
 * `eval --save-predictions DIR`: DIR/predictions.jsonl, one line per sentence
 * `{"id", "sentence" (index in the record), "text", "found", "mask"}`, where `mask` is the path,
 * relative to DIR, of a single-channel PNG of the image's size (255 inside, 0 outside), written
 * next to it under DIR/masks/. Any other tool can score these.
 */
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { maskToPng } from '../masks/png.js';
import type { PhraseMask } from '../core/types.js';

export interface PredictionLine {
  id: string;
  sentence: number;
  text: string;
  found: boolean;
  mask: string;
}

export class PredictionWriter {
  private constructor(
    private readonly dir: string,
    private readonly lines: FileHandle,
  ) {}

  static async create(dir: string): Promise<PredictionWriter> {
    await mkdir(join(dir, 'masks'), { recursive: true });
    return new PredictionWriter(dir, await open(join(dir, 'predictions.jsonl'), 'w'));
  }

  /** `record`: the target's line number in refs.jsonl (0-based), so file names never collide. */
  async add(record: number, id: string, sentence: number, text: string, predicted: PhraseMask): Promise<PredictionLine> {
    const file = `masks/${String(record).padStart(6, '0')}-${id.replace(/[^A-Za-z0-9_-]+/g, '_')}-${sentence}.png`;
    await writeFile(join(this.dir, file), await maskToPng(predicted.mask, predicted.width, predicted.height));
    const line: PredictionLine = { id, sentence, text, found: predicted.found, mask: file };
    await this.lines.write(JSON.stringify(line) + '\n');
    return line;
  }

  close(): Promise<void> {
    return this.lines.close();
  }
}
