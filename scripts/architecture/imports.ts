/**
 * The repository's import graph, from the sources themselves: every static import, export-from,
 * `import type` and dynamic `import('…')` with a string literal, read with the TypeScript
 * compiler's parser (no type checking, no module resolution beyond relative paths). Relative
 * specifiers resolve to files (`./x.js` -> `x.ts` when that is what exists); package imports
 * are kept as such. Pure over a root folder, so the tests run it on fixture trees too.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** One import: from a file to a file of ours (`to`, repository-relative) or to a package. */
export interface ImportEdge {
  from: string;
  /** Repository-relative path of the imported file; undefined for a package import. */
  to?: string;
  /** The specifier as written. */
  specifier: string;
  /** 1-based line of the import. */
  line: number;
  /** Erased at run time (`import type`, or every name `type`). */
  typeOnly: boolean;
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.tsx', '.mjs', '.js'];
const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', '.cache', '.local', '.wrangler', 'dist', 'data', 'runs', 'artifacts', '.venv']);

/** Every source file below `dirs` (repository-relative, `/`-separated), sorted. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      if (SKIPPED_DIRECTORIES.has(name)) continue;
      const path = dir === '' ? name : `${dir}/${name}`;
      const stat = statSync(join(root, path));
      if (stat.isDirectory()) walk(path);
      else if (SOURCE_EXTENSIONS.includes(extname(name)) && !name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const dir of dirs) if (existsSync(join(root, dir))) walk(dir);
  return files;
}

/** `./x.js` from `from` -> the repository-relative file it names, if it exists. */
function resolveRelative(root: string, from: string, specifier: string): string | undefined {
  const base = resolve(root, dirname(from), specifier);
  const stem = base.replace(/\.(m?js|tsx?)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.mts`, `${stem}.tsx`, `${stem}.mjs`, `${stem}.js`, join(base, 'index.ts')];
  const found = candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  return found && relative(root, found).split(sep).join('/');
}

/** The imports of one file's text. */
export function importsOf(root: string, file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (literal: ts.StringLiteralLike, typeOnly: boolean) => {
    const specifier = literal.text;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    const to = specifier.startsWith('.') ? resolveRelative(root, file, specifier) ?? `${dirname(file)}/${specifier}` : undefined;
    edges.push({ from: file, to, specifier, line, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const allTypes = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((element) => element.isTypeOnly)));
      add(node.moduleSpecifier, allTypes);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0 && ts.isStringLiteralLike(node.arguments[0])) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** Every import of every source file below `dirs`. */
export function importGraph(root: string, dirs: readonly string[]): ImportEdge[] {
  return sourceFiles(root, dirs).flatMap((file) => importsOf(root, file, readFileSync(join(root, file), 'utf8')));
}

/** Import circles among `files` (edges between them only), each as the files in order, first repeated last. */
export function importCycles(edges: readonly ImportEdge[], inside: (file: string) => boolean): string[][] {
  const next = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!edge.to || !inside(edge.from) || !inside(edge.to) || edge.from === edge.to) continue;
    if (!next.has(edge.from)) next.set(edge.from, new Set());
    next.get(edge.from)!.add(edge.to);
  }
  // Tarjan's strongly connected components; a component of two or more files holds a circle.
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (file: string) => {
    indices.set(file, index);
    low.set(file, index++);
    stack.push(file);
    onStack.add(file);
    for (const to of [...(next.get(file) ?? [])].sort()) {
      if (!indices.has(to)) {
        connect(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, indices.get(to)!));
    }
    if (low.get(file) === indices.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1) cycles.push(circleThrough(component.sort(), next));
    }
  };
  for (const file of [...next.keys()].sort()) if (!indices.has(file)) connect(file);
  return cycles;
}

/** One concrete circle inside a strongly connected component, from its first file back to it. */
function circleThrough(component: string[], next: Map<string, Set<string>>): string[] {
  const members = new Set(component);
  const start = component[0];
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const to of [...(next.get(file) ?? [])].sort()) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [file];
        while (path[0] !== start) path.unshift(previous.get(path[0])!);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, file);
        queue.push(to);
      }
    }
  }
  return component;
}
