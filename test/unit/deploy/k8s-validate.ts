/**
 * Kubernetes manifests checked against the API's own schemas, offline, two ways, both from
 * kubernetes-models (generated from the Kubernetes OpenAPI spec; pinned):
 * - its ajv-compiled validators: types, required fields, enums, formats (`validate()`);
 * - its TypeScript interfaces, for unknown fields (kubectl's strict field validation): each
 *   document becomes an object literal typed with its kind's interface and the TypeScript
 *   compiler's excess-property check names any field the schema does not have, at any depth.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { ROOT } from './dockerfile.js';

/** apiVersion/kind -> the model class, and the module + interface of its TypeScript type. */
const KINDS: Record<string, { model: new (data: any) => { validate(): void }; module: string; type: string }> = {
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1', type: 'INamespace' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1', type: 'IService' },
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1', type: 'IConfigMap' },
  'apps/v1/Deployment': { model: Deployment, module: 'kubernetes-models/apps/v1', type: 'IDeployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler, module: 'kubernetes-models/autoscaling/v2', type: 'IHorizontalPodAutoscaler' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, module: 'kubernetes-models/policy/v1', type: 'IPodDisruptionBudget' },
};

export interface Manifest {
  file: string;
  doc: Record<string, any>;
}

const kindOf = (doc: Record<string, any>) => KINDS[`${doc.apiVersion}/${doc.kind}`];

/** Schema errors of one document ('' when valid); an unknown apiVersion/kind is an error. */
export function schemaErrors(doc: Record<string, any>): string {
  const kind = kindOf(doc);
  if (!kind) return `no schema for ${doc.apiVersion}/${doc.kind}`;
  try {
    new kind.model(doc).validate();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

/** Unknown-field (and type) errors of all documents, one TypeScript check; [] when clean. */
export function strictFieldErrors(manifests: readonly Manifest[]): string[] {
  const file = join(ROOT, 'test', 'unit', 'deploy', '__manifests__.ts');
  const known = manifests.filter(({ doc }) => kindOf(doc));
  const imports = [...new Set(known.map(({ doc }) => kindOf(doc).module))]
    .map((module) => `import type { ${[...new Set(known.filter(({ doc }) => kindOf(doc).module === module).map(({ doc }) => kindOf(doc).type))].join(', ')} } from '${module}';`);
  const lines = known.map(({ file: name, doc }, index) => `// ${name}\nexport const doc${index}: ${kindOf(doc).type} = ${JSON.stringify(doc, null, 1)};`);
  const source = `${imports.join('\n')}\n${lines.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const readSource = host.getSourceFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : readSource(name, language, ...rest));
  host.fileExists = (name) => name === file || exists(name);
  const program = ts.createProgram([file], options, host);
  const sourceFile = program.getSourceFile(file)!;
  return ts.getPreEmitDiagnostics(program, sourceFile).map((diagnostic) => {
    const at = diagnostic.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(diagnostic.start).line;
    const origin = source.split('\n').slice(0, at + 1).reverse().find((line) => line.startsWith('// ')) ?? '';
    return `${origin.slice(3)}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

/** Every document of the top-level *.yaml files of `dir` (sub-folders are not manifests). */
export function loadManifests(dir: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort()) {
    for (const document of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
      const doc = document.toJS();
      if (doc) manifests.push({ file, doc });
    }
  }
  return manifests;
}
