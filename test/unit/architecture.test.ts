/**
 * The house holds (scripts/architecture/rules.ts): the edge and the service never import each
 * other, production code never imports test/, contract/ imports nothing of ours, no import in
 * gpu-service/src runs up a floor, no import circle in functions/src or gpu-service/src; and
 * docs/architecture.svg (the picture, `npm run docs:architecture`) is the one the imports draw
 * today. A fixture tree with one import of each forbidden kind shows every rule can fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryArchitectureSvg } from '../../scripts/architecture/draw.js';
import { importGraph } from '../../scripts/architecture/imports.js';
import { checkImports, formatViolations, GRAPH_DIRS } from '../../scripts/architecture/rules.js';

const ROOT = join(import.meta.dirname, '..', '..');
const fixture = mkdtempSync(join(tmpdir(), 'cris-house-'));
afterAll(() => rmSync(fixture, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  }
}

describe('the house', () => {
  it('has no forbidden import', () => {
    const violations = checkImports(importGraph(ROOT, GRAPH_DIRS));
    expect(formatViolations(violations)).toBe('');
  });

  it('is drawn as it stands (docs/architecture.svg is fresh: npm run docs:architecture)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'architecture.svg'), 'utf8')).toBe(repositoryArchitectureSvg(ROOT));
  });

  it('reports each kind of forbidden import in a fixture tree', () => {
    write({
      'contract/limits.ts': "import { helper } from '../test/helpers/h.js';\nimport { z } from 'zod';\nexport const LIMIT = helper + String(z);\n",
      'test/helpers/h.ts': "export const helper = 'h';\n",
      'functions/src/app.ts': "import { core } from '../../gpu-service/src/core/types.js';\nexport const app = core;\n",
      'functions/src/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'functions/src/b.ts': "import type { a } from './a.js';\nexport const b = 1 as unknown as typeof a;\n",
      'gpu-service/src/core/types.ts': "export const core = 1;\nexport async function lazy() { return import('../pipeline/run.js'); }\n",
      'gpu-service/src/pipeline/run.ts': "import { app } from '../../../functions/src/app.js';\nexport const run = app;\n",
      'gpu-service/src/masks/rle.ts': "export { core } from '../attic/old.js';\n",
      'gpu-service/src/attic/old.ts': "export const core = 2;\n",
      'sdk/index.ts': "import { helper } from '../test/helpers/h.js';\nexport const sdk = helper;\n",
      'test/unit/fine.test.ts': "import { sdk } from '../../sdk/index.js';\nimport { run } from '../../gpu-service/src/pipeline/run.js';\nexport const fine = [sdk, run];\n",
    });
    const violations = checkImports(importGraph(fixture, GRAPH_DIRS));
    const found = violations.map((v) => `${v.rule} ${v.where}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'production-test contract/limits.ts:1 -> test/helpers/h.ts',
        'contract-outward contract/limits.ts:1 -> test/helpers/h.ts',
        'edge-service functions/src/app.ts:1 -> gpu-service/src/core/types.ts',
        'edge-service gpu-service/src/pipeline/run.ts:1 -> functions/src/app.ts',
        'service-upward gpu-service/src/core/types.ts:2 -> gpu-service/src/pipeline/run.ts',
        'service-upward gpu-service/src/masks/rle.ts:1 -> gpu-service/src/attic/old.ts',
        'production-test sdk/index.ts:1 -> test/helpers/h.ts',
        'circle functions/src/a.ts -> functions/src/b.ts -> functions/src/a.ts',
      ]),
    );
    // tests may import anything of ours; a package import is no violation
    expect(found.filter((line) => line.includes('test/unit/') || line.includes('zod'))).toEqual([]);
    expect(violations).toHaveLength(8);
  });
});
