/** Evaluation summary as a PNG bar chart: mIoU, oIoU and Pr@X, overall and per kind (SVG via sharp). */
import sharp from 'sharp';
import type { Metrics } from './evaluate.js';

const SERIES = [
  ['mIoU', '#1f77b4'],
  ['oIoU', '#17becf'],
  ['Pr@0.5', '#2ca02c'],
  ['Pr@0.7', '#ff7f0e'],
  ['Pr@0.9', '#d62728'],
] as const;

const escape = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function summarySvg(title: string, metrics: Metrics, byKind?: Record<string, Metrics>): string {
  const groups: Array<[string, Metrics]> = [['all', metrics], ...Object.entries(byKind ?? {})];
  const bar = 14;
  const groupWidth = SERIES.length * bar + 24;
  const left = 50;
  const top = 50;
  const plotH = 260;
  const width = left + groups.length * groupWidth + 20;
  const height = top + plotH + 70;
  const y = (v: number) => top + plotH * (1 - v);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14">${escape(title)}</text>`,
  ];
  SERIES.forEach(([name, colour], i) => {
    parts.push(`<rect x="${left + i * 80}" y="30" width="10" height="10" fill="${colour}"/>`);
    parts.push(`<text x="${left + i * 80 + 14}" y="39" font-size="11">${name}</text>`);
  });
  for (let v = 0; v <= 1.0001; v += 0.2) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  groups.forEach(([name, m], g) => {
    const x0 = left + 12 + g * groupWidth;
    SERIES.forEach(([key, colour], i) => {
      const v = Math.max(0, Math.min(1, m[key]));
      parts.push(`<rect x="${x0 + i * bar}" y="${y(v)}" width="${bar - 2}" height="${plotH * v}" fill="${colour}"/>`);
    });
    const cx = x0 + (SERIES.length * bar) / 2;
    parts.push(`<text x="${cx}" y="${top + plotH + 16}" font-size="11" text-anchor="middle">${escape(name)}</text>`);
    parts.push(`<text x="${cx}" y="${top + plotH + 30}" font-size="10" fill="#555" text-anchor="middle">n=${m.count}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export async function renderSummaryPng(title: string, metrics: Metrics, byKind?: Record<string, Metrics>): Promise<Buffer> {
  return sharp(Buffer.from(summarySvg(title, metrics, byKind))).png().toBuffer();
}
