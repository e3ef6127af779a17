/**
 * The forbidden imports, as data and one check over an import graph (imports.ts):
 *   - the edge (functions/) and the service (gpu-service/) never import each other: what both
 *     need lives in contract/;
 *   - nothing outside test/ imports test/ (production code, the SDK, the CLIs, the models'
 *     generator; bench/ and scripts/ are test tooling and may);
 *   - contract/ imports nothing of ours outside contract/ (packages only);
 *   - in gpu-service/src an import never runs up: a file imports its own floor or lower ones
 *     (SERVICE_FLOORS, bottom up);
 *   - no import circle in functions/src or in gpu-service/src.
 */
import { importCycles, type ImportEdge } from './imports.js';

/** gpu-service/src, bottom up: the folders (or top-level files) of each floor. */
export const SERVICE_FLOORS: readonly { name: string; parts: readonly string[] }[] = [
  { name: 'core', parts: ['core'] },
  { name: 'parts', parts: ['bundle', 'tokenizer', 'imaging', 'masks', 'inference', 'batcher', 'admission', 'storage', 'metrics'] },
  { name: 'pipeline', parts: ['pipeline'] },
  { name: 'threads, HTTP, tools', parts: ['worker', 'server', 'eval', 'cli'] },
  { name: 'composition root', parts: ['main.ts', 'config.ts', 'boot'] },
];

const SERVICE = 'gpu-service/src/';
/** Folders of production code: nothing in them may import test/. */
export const PRODUCTION_DIRS = ['contract', 'functions', 'gpu-service', 'sdk', 'cli', 'models'];
/** Folders the graph is read from. */
export const GRAPH_DIRS = [...PRODUCTION_DIRS, 'bench', 'scripts', 'test'];

export interface Violation {
  rule: 'edge-service' | 'production-test' | 'contract-outward' | 'service-upward' | 'circle';
  /** `file:line -> target`, or the circle's files. */
  where: string;
  why: string;
}

/** A gpu-service/src file's part (its first folder, or the file itself at the top). */
export function servicePart(file: string): string | undefined {
  if (!file.startsWith(SERVICE)) return undefined;
  return file.slice(SERVICE.length).split('/')[0];
}

/** The floor index of a gpu-service/src file; -1 for a part no floor names. */
export function serviceFloor(file: string): number {
  const part = servicePart(file);
  return SERVICE_FLOORS.findIndex((floor) => floor.parts.includes(part ?? ''));
}

const tier = (file: string) => file.split('/')[0];

export function checkImports(edges: readonly ImportEdge[]): Violation[] {
  const violations: Violation[] = [];
  for (const edge of edges) {
    if (!edge.to) continue;
    const at = `${edge.from}:${edge.line} -> ${edge.to}`;
    const [from, to] = [tier(edge.from), tier(edge.to)];
    if ((from === 'functions' && to === 'gpu-service') || (from === 'gpu-service' && to === 'functions')) {
      violations.push({ rule: 'edge-service', where: at, why: 'the edge and the service share only contract/' });
    }
    if (PRODUCTION_DIRS.includes(from) && to === 'test') {
      violations.push({ rule: 'production-test', where: at, why: 'production code imports nothing from test/' });
    }
    if (from === 'contract' && to !== 'contract') {
      violations.push({ rule: 'contract-outward', where: at, why: 'contract/ imports packages and itself only' });
    }
    if (edge.from.startsWith(SERVICE) && edge.to.startsWith(SERVICE)) {
      const [fromFloor, toFloor] = [serviceFloor(edge.from), serviceFloor(edge.to)];
      if (fromFloor < 0 || toFloor < 0) {
        const part = fromFloor < 0 ? servicePart(edge.from) : servicePart(edge.to);
        violations.push({ rule: 'service-upward', where: at, why: `gpu-service/src/${part} is on no floor (SERVICE_FLOORS in scripts/architecture/rules.ts)` });
      } else if (toFloor > fromFloor) {
        violations.push({ rule: 'service-upward', where: at, why: `${SERVICE_FLOORS[fromFloor].name} (floor ${fromFloor}) imports ${SERVICE_FLOORS[toFloor].name} (floor ${toFloor})` });
      }
    }
  }
  for (const prefix of ['functions/src/', SERVICE]) {
    for (const circle of importCycles(edges, (file) => file.startsWith(prefix))) {
      violations.push({ rule: 'circle', where: circle.join(' -> '), why: `an import circle in ${prefix.slice(0, -1)}` });
    }
  }
  return violations;
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.rule}: ${v.where} (${v.why})`).join('\n');
}
