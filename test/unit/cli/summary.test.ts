import { describe, expect, it } from 'vitest';
import type { PhraseResult } from '../../../contract/segment.js';
import { summaryLine } from '../../../cli/segment.js';

const found: PhraseResult = {
  text: 'all the red circles',
  found: true,
  presence: 0.91,
  score: 0.8771,
  bbox: [4, 5, 30, 20],
  area: 321,
  regions: 2,
  mask: { format: 'polygon', coordinates: [] },
};

describe('cris segment summary line', () => {
  it('says "not found" plainly, with the presence when the model has one', () => {
    const missing = { ...found, text: 'the purple star', found: false, presence: 0.042, score: 0, bbox: [0, 0, 0, 0] as PhraseResult['bbox'], area: 0, regions: 0 };
    expect(summaryLine(missing)).toBe('"the purple star": not found (presence 0.042)');
    expect(summaryLine({ ...missing, presence: null })).toBe('"the purple star": not found');
  });

  it('gives score, area, bbox and regions for a phrase found', () => {
    expect(summaryLine(found)).toBe('"all the red circles": score 0.877, area 321 px, bbox [4, 5, 30, 20], 2 regions, presence 0.910');
    expect(summaryLine({ ...found, presence: null, regions: 1 })).toBe('"all the red circles": score 0.877, area 321 px, bbox [4, 5, 30, 20], 1 region');
  });
});
