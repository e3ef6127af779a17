/** The bench:service chart: requests/s and CPU per request per concurrency, ours vs the peer. */
import type { ComparisonPoint, Side } from './service.js';

const FILL: Record<Side, string> = { ours: '#1e88e5', peer: '#bdbdbd' };

export function comparisonChartSvg(points: ComparisonPoint[], concurrency: number[], lines: string[]): string {
  const width = 1180;
  const height = 620;
  const panel = (x0: number, title: string, value: (p: ComparisonPoint) => number, unit: string) => {
    const max = Math.max(...points.map(value)) * 1.15 || 1;
    const chartH = 280;
    const base = 340;
    let svg = `<text x="${x0 + 200}" y="40" font-size="18" text-anchor="middle" font-family="sans-serif">${title}</text>`;
    concurrency.forEach((c, ci) => {
      (['ours', 'peer'] as const).forEach((side, bi) => {
        const p = points.find((q) => q.side === side && q.concurrency === c);
        if (!p) return;
        const x = x0 + 30 + ci * 130 + bi * 50;
        const h = (value(p) / max) * chartH;
        svg += `<rect x="${x}" y="${base - h}" width="44" height="${h}" fill="${FILL[side]}"/>`;
        svg += `<text x="${x + 22}" y="${base - h - 6}" font-size="12" text-anchor="middle" font-family="sans-serif">${value(p).toFixed(1)}</text>`;
      });
      svg += `<text x="${x0 + 30 + ci * 130 + 47}" y="${base + 20}" font-size="14" text-anchor="middle" font-family="sans-serif">c=${c}</text>`;
    });
    svg += `<line x1="${x0 + 20}" x2="${x0 + 420}" y1="${base}" y2="${base}" stroke="#333"/>`;
    svg += `<text x="${x0 + 200}" y="${base + 42}" font-size="12" text-anchor="middle" font-family="sans-serif">${unit}</text>`;
    return svg;
  };
  const legend = `<rect x="30" y="410" width="14" height="14" fill="${FILL.ours}"/><text x="50" y="422" font-size="13" font-family="sans-serif">ours (gpu-service)</text>` +
    `<rect x="220" y="410" width="14" height="14" fill="${FILL.peer}"/><text x="240" y="422" font-size="13" font-family="sans-serif">peer (bench/peer/app.py)</text>`;
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const notes = lines.filter((line) => !line.startsWith('|') && line.trim()).slice(1)
    .map((line, i) => `<text x="30" y="${460 + i * 20}" font-size="12" font-family="monospace">${escape(line)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>` +
    panel(20, 'Throughput (requests/s)', (p) => p.throughput, 'requests per second, higher is better') +
    panel(600, 'Server CPU per request (ms)', (p) => p.cpuMs, 'CPU ms per request, all threads, lower is better') +
    legend + notes + '</svg>';
}
