// The OpenAPI 3.1 document, generated from the route table (paths, methods) and each route's
// handler contract (the zod schemas it validates with, its answers, its refusals). Nothing here
// lists routes: a route added to functions/api/routes.ts appears, or generation fails naming it.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { commonErrors, type Contract } from '../../functions/api/contract';
import { routes as realRoutes, type Route } from '../../functions/api/routes';
import { ProblemView } from '../../functions/api/views';
import { ActorHeader, IdempotencyKey } from '../../functions/api/contract';
import { errorCodes, type ErrorCode } from '../../shared/domain/errors';
import { projectRoot } from '../constructs/functions';

const tagDescriptions: Record<string, string> = {
  health: 'Is the API up, and does its table answer.',
  'openapi.json': 'This document.',
  lookups: 'Codes, types, statuses and actions a client must handle.',
  subscriptions:
    'Subscriptions with their products, registers and prices; balances, grants and ledgers; bill lines; adjustments.',
  'usage-events':
    'Usage events: ingested once per eventId, rated by RATING batches, corrected by RERATE and REVERSE_REPLACE batches.',
  batches:
    'Correction batches: DRAFT → lock (exact preview) → submit. GET /v1/lookups lists the actions each type allows in each status.',
  accounts: 'Accounts, bill units, open items and balance groups (docs/balance-management.md).',
  'balance-transfers': 'Allowance moved between subscriptions of one account.',
  settings: 'Ledger close: the period through which nothing may be backdated.',
};

const overview = `Correct rated usage: batches that **rate**, **re-rate** or **reverse and replace** usage events,
locked for review with an exact preview, then submitted.

- **Calling it.** In AWS every route needs a request signed with AWS Signature Version 4 (IAM, service
  \`execute-api\`); the caller is the IAM principal. On the local stack (\`npm start\`) nothing is signed and
  the caller is the \`X-Actor\` header (at most 200 characters; without it the caller is recorded as
  \`anonymous\`).
- **Money and quantities** are decimal strings in answers (\`"12.50"\`); requests may send strings or plain
  JSON numbers (no exponent).
- **Refusals** are \`application/problem+json\` with a stable \`code\` and, for bad input, \`errors[]\` naming
  each field. \`GET /v1/lookups\` lists every code with its HTTP status and meaning.
- **Idempotency-Key** on any POST or PUT: the same key and request answer the first answer again (with
  \`Idempotent-Replayed: true\`); the same key on another request is \`IDEMPOTENCY_KEY_REUSED\`. Keys are
  scoped to the caller, and only successful answers are kept.
- **Lists** page with \`?limit=\` (1 to 1000, default 100) and \`?cursor=\`: pass \`nextCursor\` back until it
  is absent.
- **Workflows.** Lock, revert and submit answer \`202\` once started; poll \`GET /v1/batches/{batchId}\` until
  the status settles.`;

/** `functions/api/batches/get-batch-members.ts` → `getBatchMembers`. */
const operationIdOf = (route: Route) =>
  route.handler
    .split('/')
    .pop()!
    .replace(/\.ts$/, '')
    .replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const tagOf = (route: Route) => route.path.split('/')[2] ?? 'api';

const statusText: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted' };

/** The contract a route's handler keeps: generation fails, naming the route, when there is none. */
export async function contractOf(route: Route): Promise<Contract> {
  const mod = (await import(pathToFileURL(join(projectRoot, route.handler)).href)) as {
    handler?: { contract?: Contract };
  };
  const contract = mod.handler?.contract;
  if (!contract)
    throw new Error(
      `${route.method} ${route.path}: ${route.handler} has no handler made by httpHandler, so nothing documents it`,
    );
  return contract;
}

function errorResponses(route: Route, contract: Contract): ZodOpenApiResponsesObject {
  const codes = new Set<ErrorCode>([
    ...commonErrors(route.method, contract.body !== undefined),
    ...(contract.errors ?? []),
  ]);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(errorCodes[code].status, [...(byStatus.get(errorCodes[code].status) ?? []), code]);
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status) as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: list.map((c) => `\`${c}\`: ${errorCodes[c].meaning}`).join('\n\n'),
      content: {
        'application/problem+json': {
          schema: {
            allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: list } } }],
          },
        },
      },
    };
  }
  return responses;
}

function operationOf(route: Route, contract: Contract): ZodOpenApiOperationObject {
  const writes = route.method === 'POST' || route.method === 'PUT';
  const headers = z.object({
    ...(writes ? { 'Idempotency-Key': IdempotencyKey.optional() } : {}),
    'X-Actor': ActorHeader.optional(),
    ...(contract.headers instanceof z.ZodObject ? contract.headers.shape : {}),
  });
  const success: ZodOpenApiResponsesObject = {};
  for (const [status, schema] of Object.entries(contract.responses)) {
    success[status as `2${string}`] = {
      description: statusText[Number(status)] ?? status,
      ...(writes
        ? {
            headers: z.object({
              'Idempotent-Replayed': z.literal('true').optional().meta({
                description: 'Present when the answer is a replay of an earlier request with the same Idempotency-Key.',
              }),
            }),
          }
        : {}),
      content: { 'application/json': { schema: schema! } },
    };
  }
  return {
    operationId: operationIdOf(route),
    summary: contract.summary,
    ...(contract.description ? { description: contract.description } : {}),
    tags: [tagOf(route)],
    requestParams: {
      ...(contract.path ? { path: contract.path as z.ZodObject } : {}),
      ...(contract.query ? { query: contract.query as z.ZodObject } : {}),
      header: headers,
    },
    ...(contract.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: contract.body } } } }
      : {}),
    responses: { ...success, ...errorResponses(route, contract) },
  };
}

export async function buildDocument(routes: readonly Route[] = realRoutes, version = '1') {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    item[route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'] = operationOf(route, await contractOf(route));
  }
  const tags = [...new Set(routes.map(tagOf))].map((name) => ({
    name,
    description: tagDescriptions[name] ?? `Routes under /v1/${name}.`,
  }));
  return createDocument({
    openapi: '3.1.0',
    info: { title: 'usage-corrections API', version, description: overview },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'The local stack (`npm start`; API_PORT changes the port)' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stack: its ApiUrl output (docs/deploy.md)',
        variables: { apiId: { default: 'apiId', description: 'The HTTP API id' }, region: { default: 'us-east-1' } },
      },
    ],
    security: [{ sigv4: [] }],
    tags,
    paths,
    components: {
      schemas: { Problem: ProblemView },
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 (IAM), service `execute-api`. The local stack checks no signature.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
  });
}
