/**
 * Checks an HTTP answer against what the OpenAPI document says its operation answers, with
 * third-party tools only: the document dereferenced by @apidevtools/swagger-parser, bodies
 * validated by Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1).
 *
 *   const check = await documentChecker(doc, exposedHeaders);
 *   expect(check(observation)).toEqual([]);   // a list of problems, empty when it conforms
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** One answer, as test/fixtures/openapi-client/calls.ts records it. */
export interface Observation {
  label: string;
  path: string;
  method: string;
  expectStatus: number;
  expectCode?: string;
  status: number;
  headers: Record<string, string>;
  contentType: string;
  body: unknown;
}

interface HeaderObject {
  required?: boolean;
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema?: object }>;
}
type Document = { paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>> };

/**
 * `exposed`: the response headers the API exposes to clients (its CORS `Access-Control-Expose-Headers`):
 * each one an answer carries must be documented for that operation and status.
 */
export async function documentChecker(document: object, exposed: string[]): Promise<(seen: Observation) => string[]> {
  const doc = (await SwaggerParser.dereference(structuredClone(document) as never)) as unknown as Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addFormat('binary', true);
  const validators = new Map<object, ReturnType<Ajv2020['compile']>>();
  const validatorOf = (schema: object) => {
    let validate = validators.get(schema);
    if (!validate) validators.set(schema, (validate = ajv.compile(schema)));
    return validate;
  };

  return (seen) => {
    const where = `${seen.label} (${seen.method.toUpperCase()} ${seen.path} -> ${seen.status})`;
    const problems: string[] = [];
    if (seen.status !== seen.expectStatus) problems.push(`${where}: expected ${seen.expectStatus}, body ${JSON.stringify(seen.body).slice(0, 300)}`);
    const code = (seen.body as { error?: { code?: string } } | null)?.error?.code;
    if (seen.expectCode && code !== seen.expectCode) problems.push(`${where}: expected code ${seen.expectCode}, got ${code}`);
    const operation = doc.paths[seen.path]?.[seen.method];
    if (!operation) return [...problems, `${where}: the document has no such operation`];
    const response = operation.responses[String(seen.status)];
    if (!response) return [...problems, `${where}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    const documented = new Map(Object.entries(response.headers ?? {}).map(([name, header]) => [name.toLowerCase(), header]));
    for (const [name, header] of documented) {
      if (header.required && seen.headers[name] === undefined) problems.push(`${where}: required header ${name} missing`);
    }
    for (const name of exposed) {
      if (seen.headers[name] !== undefined && !documented.has(name)) problems.push(`${where}: sends ${name}: ${seen.headers[name]}, not documented`);
    }
    if (seen.status === 304) return problems;
    const mediaType = seen.contentType.split(';')[0].trim().toLowerCase();
    const content = response.content?.[mediaType];
    if (!content) return [...problems, `${where}: content type ${mediaType} not documented (${Object.keys(response.content ?? {}).join(', ')})`];
    if (typeof seen.body === 'number') {
      if (seen.body === 0) problems.push(`${where}: empty binary answer`);
    } else if (content.schema) {
      const validate = validatorOf(content.schema);
      if (!validate(seen.body)) problems.push(`${where}: body does not match the schema: ${ajv.errorsText(validate.errors)}`);
    }
    return problems;
  };
}
