/** The bench:stages chart: CPU ms per call of each stage, ours against the peer, as bars. */
export interface StageRow {
  key: string;
  label: string;
  ours: number;
  /** null: the peer has no such stage. */
  peer: number | null;
}

export function stagesChartSvg(rows: StageRow[], title: string): string {
  const rowH = 46;
  const left = 330;
  const barMax = 560;
  const top = 70;
  const width = left + barMax + 150;
  const height = top + rows.length * rowH + 60;
  const max = Math.max(...rows.flatMap((r) => [r.ours, r.peer ?? 0])) * 1.05 || 1;
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const text = (x: number, y: number, s: string, extra = '', size = 13) => `<text x="${x}" y="${y}" font-size="${size}" font-family="sans-serif" ${extra}>${escape(s)}</text>`;
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>`;
  svg += text(20, 28, 'CPU ms per call, stage by stage (lower is better)', '', 18);
  svg += text(20, 50, title.length > 150 ? title.slice(0, 147) + '...' : title, '', 11);
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    svg += text(left - 10, y + 24, row.label, 'text-anchor="end"');
    const bar = (value: number, dy: number, fill: string) => {
      const w = (value / max) * barMax;
      return `<rect x="${left}" y="${y + dy}" width="${w}" height="18" fill="${fill}"/>` + text(left + w + 6, y + dy + 14, `${value.toFixed(2)} ms`);
    };
    svg += bar(row.ours, 4, '#1e88e5');
    if (row.peer !== null) svg += bar(row.peer, 24, '#bdbdbd');
  });
  const legendY = top + rows.length * rowH + 30;
  svg += `<rect x="${left}" y="${legendY - 12}" width="14" height="14" fill="#1e88e5"/>` + text(left + 20, legendY, 'ours (gpu-service)');
  svg += `<rect x="${left + 180}" y="${legendY - 12}" width="14" height="14" fill="#bdbdbd"/>` + text(left + 200, legendY, 'peer (bench/peer/app.py)');
  return svg + '</svg>';
}
