// The contract check every API call in the tests goes through (`call`, and the end-to-end tests'
// HTTP requests): the answer's status, content type and body must be what docs/openapi.json says
// for the route, and a request the API accepted must be one the document allows. The document
// checked is the published file, so a handler that drifts from it fails whatever test calls it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { projectRoot } from '../../infra/local/dynamodb-local';

type Doc = Record<string, any>;

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const DOCUMENT_ID = 'openapi.json';

let loaded: { doc: Doc; ajv: Ajv2020; coercing: Ajv2020 } | undefined;
const compiled = new Map<string, ValidateFunction>();

function load() {
  if (!loaded) {
    const doc = JSON.parse(readFileSync(join(projectRoot, 'docs/openapi.json'), 'utf8')) as Doc;
    const make = (coerceTypes: boolean) => {
      // OpenAPI 3.1 schemas are JSON Schema 2020-12; `example` and the like are annotations.
      const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes });
      addFormats(ajv);
      ajv.addSchema(doc, DOCUMENT_ID);
      return ajv;
    };
    // Query, path and header values arrive as strings: they are checked as a client's would be read.
    loaded = { doc, ajv: make(false), coercing: make(true) };
  }
  return loaded;
}

const pointer = (...parts: string[]) =>
  parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

function validator(coerce: boolean, ...parts: string[]): ValidateFunction {
  const key = `${coerce}:${parts.join('\u0000')}`;
  let v = compiled.get(key);
  if (!v) {
    const { ajv, coercing } = load();
    v = (coerce ? coercing : ajv).compile({ $ref: `${DOCUMENT_ID}#/${pointer(...parts)}` });
    compiled.set(key, v);
  }
  return v;
}

function explain(v: ValidateFunction): string {
  return (v.errors ?? [])
    .map(
      (e) =>
        `${e.instancePath || '(root)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`,
    )
    .join('; ');
}

export interface ContractExchange {
  method: string;
  /** The route's path template, e.g. `/v1/batches/{batchId}`. */
  routePath: string;
  request: {
    pathParameters?: Record<string, string>;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: string;
  };
  response: { status: number; contentType?: string; body?: string };
}

/** Throws, naming the route and what disagrees, when the exchange is not what the document says. */
export function checkContract(x: ContractExchange): void {
  const { doc } = load();
  const where = `${x.method} ${x.routePath} → ${x.response.status}`;
  const method = x.method.toLowerCase();
  const op = doc.paths?.[x.routePath]?.[method];
  if (!op) throw new Error(`contract: ${x.method} ${x.routePath} is not in docs/openapi.json (run npm run openapi)`);

  const documented = op.responses[String(x.response.status)];
  if (!documented) {
    throw new Error(
      `contract: ${where} is not a documented answer (documented: ${Object.keys(op.responses).join(', ')}); body ${x.response.body?.slice(0, 300)}`,
    );
  }
  const mediaTypes = Object.keys(documented.content ?? {});
  const type = (x.response.contentType ?? '').split(';')[0]!.trim();
  if (!mediaTypes.includes(type))
    throw new Error(`contract: ${where} answered ${type || 'no content type'}, documented ${mediaTypes.join(', ')}`);
  const body = x.response.body ? (JSON.parse(x.response.body) as unknown) : undefined;
  const check = validator(
    false,
    'paths',
    x.routePath,
    method,
    'responses',
    String(x.response.status),
    'content',
    type,
    'schema',
  );
  if (!check(body)) throw new Error(`contract: ${where} body disagrees with the document: ${explain(check)}`);

  if (x.response.status >= 300) return;
  // Accepted: the request must be one the document allows (else the document refuses what the code takes).
  const params: Doc[] = op.parameters ?? [];
  const sources: Record<string, Record<string, string>> = {
    path: x.request.pathParameters ?? {},
    query: x.request.query ?? {},
    header: Object.fromEntries(Object.entries(x.request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  params.forEach((p, i) => {
    const value = sources[p.in]?.[p.in === 'header' ? p.name.toLowerCase() : p.name];
    if (value === undefined) {
      if (p.required)
        throw new Error(`contract: ${where} was accepted without the required ${p.in} parameter ${p.name}`);
      return;
    }
    const v = validator(true, 'paths', x.routePath, method, 'parameters', String(i), 'schema');
    if (!v(value))
      throw new Error(
        `contract: ${where} accepted ${p.in} parameter ${p.name}=${JSON.stringify(value)}, which the document refuses: ${explain(v)}`,
      );
  });
  if (op.requestBody) {
    if (x.request.body === undefined || x.request.body === '')
      throw new Error(`contract: ${where} was accepted without the documented body`);
    const v = validator(false, 'paths', x.routePath, method, 'requestBody', 'content', 'application/json', 'schema');
    const sent = JSON.parse(x.request.body.replace(/^\uFEFF/, '')) as unknown;
    if (!v(sent)) throw new Error(`contract: ${where} accepted a body the document refuses: ${explain(v)}`);
  }
}
