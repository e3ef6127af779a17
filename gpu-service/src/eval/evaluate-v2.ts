/**
 * Evaluation of referring-shapes v2 data (sentences with no target or several), as gRefCOCO
 * scores it (REFERRING_SHAPES.md, v2): per sentence, a no-target sentence scores IoU 1 when the
 * prediction is empty and 0 otherwise; a target sentence its IoU. gIoU = mean of those over all
 * sentences; cIoU = cumulative intersection / cumulative union (no-target sentences included:
 * their union is the predicted area); N-acc = no-target sentences answered empty / no-target
 * sentences; T-acc = target sentences answered non-empty / target sentences; and the v1 metrics
 * (mIoU, oIoU, Pr@X) over the single-target sentences alone. Everything also per kind.
 */
import { summarise, type Metrics, type SentenceScore } from './evaluate.js';

/** One sentence's outcome on v2 data. */
export interface SentenceOutcome extends SentenceScore {
  /** Ground-truth members: 0 (no target), 1, or the group's size. */
  targets: number;
  /** Whether the prediction is non-empty (the model did not say "not found"). */
  found: boolean;
}

export interface GeneralisedMetrics {
  sentences: number;
  no_target: number;
  multi_target: number;
  gIoU: number;
  cIoU: number;
  /** null when there is no no-target sentence. */
  'N-acc': number | null;
  /** null when there is no target sentence. */
  'T-acc': number | null;
  /** The v1 metrics over single-target sentences alone. */
  single_target: Metrics;
}

/** The per-sentence IoU that gIoU averages. */
export function generalisedIoU(outcome: SentenceOutcome): number {
  if (outcome.targets === 0) return outcome.found ? 0 : 1;
  return outcome.iou;
}

export function summariseGeneralised(outcomes: readonly SentenceOutcome[]): GeneralisedMetrics {
  const noTarget = outcomes.filter((o) => o.targets === 0);
  const withTarget = outcomes.filter((o) => o.targets > 0);
  const share = (part: number, whole: number) => (whole === 0 ? null : part / whole);
  const totalI = outcomes.reduce((a, o) => a + o.intersection, 0);
  const totalU = outcomes.reduce((a, o) => a + o.union, 0);
  return {
    sentences: outcomes.length,
    no_target: noTarget.length,
    multi_target: outcomes.filter((o) => o.targets > 1).length,
    gIoU: outcomes.length === 0 ? 0 : outcomes.reduce((a, o) => a + generalisedIoU(o), 0) / outcomes.length,
    // every sentence predicted empty on no-target truth: nothing to get wrong
    cIoU: totalU === 0 ? 1 : totalI / totalU,
    'N-acc': share(noTarget.filter((o) => !o.found).length, noTarget.length),
    'T-acc': share(withTarget.filter((o) => o.found).length, withTarget.length),
    single_target: summarise(outcomes.filter((o) => o.targets === 1)),
  };
}

/** Per kind, when every sentence has one; undefined otherwise. */
export function summariseGeneralisedByKind(outcomes: readonly SentenceOutcome[]): Record<string, GeneralisedMetrics> | undefined {
  if (outcomes.length === 0 || outcomes.some((o) => o.kind === undefined)) return undefined;
  const groups = new Map<string, SentenceOutcome[]>();
  for (const o of outcomes) groups.set(o.kind!, [...(groups.get(o.kind!) ?? []), o]);
  return Object.fromEntries([...groups.keys()].sort().map((kind) => [kind, summariseGeneralised(groups.get(kind)!)]));
}

/** The eval CLI's table for v2 data (values in %). */
export function generalisedTable(metrics: GeneralisedMetrics, byKind: Record<string, GeneralisedMetrics> | undefined): string {
  const columns = ['sentences', 'gIoU', 'cIoU', 'N-acc', 'T-acc', 'single', 'mIoU', 'oIoU', 'Pr@0.5', 'Pr@0.9'] as const;
  const pct = (v: number | null) => (v === null ? '-' : (v * 100).toFixed(2));
  const cell = (key: (typeof columns)[number], m: GeneralisedMetrics): string => {
    switch (key) {
      case 'sentences':
        return String(m.sentences);
      case 'single':
        return String(m.single_target.count);
      case 'mIoU':
      case 'oIoU':
      case 'Pr@0.5':
      case 'Pr@0.9':
        return m.single_target.count === 0 ? '-' : pct(m.single_target[key]);
      default:
        return pct(m[key]);
    }
  };
  const rows: Array<[string, GeneralisedMetrics]> = [['all', metrics], ...Object.entries(byKind ?? {})];
  const header = ['', ...columns].map((c, i) => (i === 0 ? c.padEnd(12) : c.padStart(9))).join(' ');
  const lines = rows.map(([name, m]) => [name.padEnd(12), ...columns.map((c) => cell(c, m).padStart(9))].join(' '));
  return [
    header,
    ...lines,
    '(in %; gIoU: no-target sentences score 1 when answered empty; cIoU cumulative over all sentences;',
    ' mIoU, oIoU, Pr@X over the "single" single-target sentences)',
  ].join('\n');
}
