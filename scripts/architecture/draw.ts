/**
 * The house as a picture, from the real imports (imports.ts): gpu-service/src floor by floor
 * (rules.ts SERVICE_FLOORS, bottom up), functions/src by depth, contract/ under both, and one
 * arrow per pair of parts that import each other (width: how many imports, in four steps). Pure: the SVG text
 * is a function of the import graph, so a test can compare the committed one with a fresh one.
 */
import { importGraph, type ImportEdge } from './imports.js';
import { SERVICE_FLOORS, servicePart } from './rules.js';

interface Box {
  id: string;
  label: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

const BOX_H = 30;
const ROW_H = 78;
const FONT = 'DejaVu Sans, Arial, sans-serif';

/** The drawn node of a file: a gpu-service/src part, a functions/src folder or top file, or a tier. */
export function nodeOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] === 'gpu-service' && parts[1] === 'src') return `service:${servicePart(file)}`;
  if (parts[0] === 'functions' && parts[1] === 'src') return `edge:${parts[2]}`;
  if (parts[0] === 'contract') return 'contract';
  return undefined;
}

/** Import counts between drawn nodes, `from -> to`. */
export function nodeEdges(edges: readonly ImportEdge[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const edge of edges) {
    if (!edge.to) continue;
    const [from, to] = [nodeOf(edge.from), nodeOf(edge.to)];
    if (!from || !to || from === to) continue;
    counts.set(`${from}>${to}`, (counts.get(`${from}>${to}`) ?? 0) + 1);
  }
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** functions/src nodes in rows: a node sits one row above the highest node it imports (cycles between folders cut). */
function edgeRows(nodes: string[], counts: Map<string, number>): string[][] {
  const targets = (node: string) => [...counts.keys()].filter((key) => key.startsWith(`${node}>`)).map((key) => key.split('>')[1]).filter((to) => to.startsWith('edge:'));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (node: string): number => {
    if (depth.has(node)) return depth.get(node)!;
    if (visiting.has(node)) return 0;
    visiting.add(node);
    const below = targets(node).map(depthOf);
    visiting.delete(node);
    const d = below.length === 0 ? 0 : Math.max(...below) + 1;
    depth.set(node, d);
    return d;
  };
  const rows: string[][] = [];
  for (const node of nodes) (rows[depthOf(node)] ??= []).push(node);
  return rows.map((row) => (row ?? []).sort());
}

function layoutRow(ids: string[], y: number, left: number, width: number, label: (id: string) => string): Box[] {
  const gap = 10;
  const w = Math.min(120, (width - gap * (ids.length + 1)) / Math.max(1, ids.length));
  const total = ids.length * w + (ids.length - 1) * gap;
  const start = left + (width - total) / 2;
  return ids.map((id, index) => ({ id, label: label(id), x: start + index * (w + gap), y, w, h: BOX_H }));
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const r1 = (value: number) => Math.round(value * 10) / 10;

export function architectureSvg(edges: readonly ImportEdge[]): string {
  const counts = nodeEdges(edges);
  const present = new Set([...counts.keys()].flatMap((key) => key.split('>')));
  for (const edge of edges) {
    const node = nodeOf(edge.from);
    if (node) present.add(node);
  }
  const serviceWidth = 760;
  const edgeWidth = 520;
  const margin = 20;
  const floors = SERVICE_FLOORS.map((floor) => floor.parts.map((part) => `service:${part}`).filter((id) => present.has(id)));
  const edgeNodes = [...present].filter((id) => id.startsWith('edge:')).sort();
  const rows = edgeRows(edgeNodes, counts);
  const levels = Math.max(floors.length, rows.length);
  const height = 70 + (levels + 1) * ROW_H + 40;
  const width = margin * 3 + serviceWidth + edgeWidth;
  const rowY = (level: number) => height - 60 - (level + 1) * ROW_H; // level 0 = just above contract
  const boxes = new Map<string, Box>();
  const add = (list: Box[]) => list.forEach((box) => boxes.set(box.id, box));
  add([{ id: 'contract', label: 'contract/', x: margin, y: height - 60, w: width - 2 * margin, h: BOX_H }]);
  floors.forEach((ids, level) => add(layoutRow(ids, rowY(level), margin, serviceWidth, (id) => id.slice('service:'.length).replace(/^(?!.*\.ts$)(.*)$/, '$1/'))));
  rows.forEach((ids, level) => add(layoutRow(ids, rowY(level), margin * 2 + serviceWidth, edgeWidth, (id) => id.slice('edge:'.length).replace(/^(?!.*\.ts$)(.*)$/, '$1/'))));

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`);
  out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>');
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${margin}" y="26" font-size="17" font-weight="bold">The house: imports point down (generated from the real imports by npm run docs:architecture)</text>`);
  out.push(`<text x="${margin}" y="50" font-size="14">gpu-service/src, floor by floor (scripts/architecture/rules.ts)</text>`);
  out.push(`<text x="${margin * 2 + serviceWidth}" y="50" font-size="14">functions/src (the edge), by depth; red: an import of a folder drawn higher</text>`);
  out.push(`<text x="${margin}" y="68" font-size="11" fill="#666">arrow width: how many imports; light arrows: imports of contract/ (what edge, service and SDK share)</text>`);
  floors.forEach((_, level) => {
    const y = rowY(level) - 14;
    out.push(`<rect x="${margin - 6}" y="${y}" width="${serviceWidth + 12}" height="${ROW_H - 6}" fill="${level % 2 ? '#f4f6fa' : '#eaf0f8'}" rx="6"/>`);
    out.push(`<text x="${margin}" y="${y + 11}" font-size="10" fill="#666">floor ${level + 1}: ${esc(SERVICE_FLOORS[level].name)}</text>`);
  });
  for (const [key, count] of counts) {
    const [from, to] = key.split('>').map((id) => boxes.get(id));
    if (!from || !to) continue;
    const width = count === 1 ? 1 : count < 5 ? 1.8 : count < 16 ? 2.6 : 3.4; // in steps, so one more import rarely redraws
    const fx = from.x + from.w / 2;
    const tx = to.x + to.w / 2;
    if (to.id !== 'contract' && Math.abs(from.y - to.y) < 1) {
      const y = from.y;
      out.push(`<path d="M${r1(fx)},${y} Q${r1((fx + tx) / 2)},${y - 26} ${r1(tx)},${y}" fill="none" stroke="#888" stroke-width="${width}" marker-end="url(#arrow)"/>`);
      continue;
    }
    const down = to.y > from.y;
    const y1 = down ? from.y + from.h : from.y;
    const y2 = down ? to.y : to.y + to.h;
    const x2 = to.id === 'contract' ? fx : tx;
    const colour = to.id === 'contract' ? '#b9c4d6' : down ? '#555' : '#c0392b';
    out.push(`<line x1="${r1(fx)}" y1="${y1}" x2="${r1(x2)}" y2="${y2}" stroke="${colour}" stroke-width="${width}" marker-end="url(#arrow)"/>`);
  }
  for (const box of boxes.values()) {
    const fill = box.id === 'contract' ? '#dfe8d8' : box.id.startsWith('edge:') ? '#fdf0dc' : '#dce8f7';
    out.push(`<rect x="${r1(box.x)}" y="${box.y}" width="${r1(box.w)}" height="${box.h}" rx="5" fill="${fill}" stroke="#445"/>`);
    out.push(`<text x="${r1(box.x + box.w / 2)}" y="${box.y + 19}" font-size="12" text-anchor="middle">${esc(box.label)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The SVG of this repository's imports. */
export function repositoryArchitectureSvg(root: string): string {
  return architectureSvg(importGraph(root, ['contract', 'functions/src', 'gpu-service/src']));
}
