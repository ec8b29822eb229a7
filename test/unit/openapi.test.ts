import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { httpHandler, ok } from '../../functions/api/http-handler';
import { routes, type Route } from '../../functions/api/routes';
import { projectRoot } from '../../infra/constructs/functions';
import { buildDocument, contractOf } from '../../infra/openapi/document';
import { generatedFiles } from '../../infra/openapi/write';
import { call } from '../support/api';

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');

describe('the OpenAPI document', () => {
  it('docs/openapi.json, docs/api.md and the dashboard types are what the code generates now (run npm run openapi after changing a route)', async () => {
    const { json, markdown, dashboardTypes } = await generatedFiles();
    expect(read('docs/openapi.json'), 'docs/openapi.json is stale: run npm run openapi').toBe(json);
    expect(read('docs/api.md'), 'docs/api.md is stale: run npm run openapi').toBe(markdown);
    expect(read('dashboard/src/api-schema.ts'), 'dashboard/src/api-schema.ts is stale: run npm run openapi').toBe(
      dashboardTypes,
    );
  });

  it('documents every route of the table with a summary, its path parameters, a success answer and its refusals', async () => {
    const doc = JSON.parse(read('docs/openapi.json'));
    for (const route of routes) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path} has no operation`).toBeDefined();
      expect(op.summary).toMatch(/\w/);
      const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(
        op.parameters
          .filter((p: { in: string }) => p.in === 'path')
          .map((p: { name: string }) => p.name)
          .sort(),
        route.path,
      ).toEqual(inPath);
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        `${route.method} ${route.path} has no success answer`,
      ).toBe(true);
      expect(op.responses['400'].content['application/problem+json']).toBeDefined();
      if (route.method === 'POST' || route.method === 'PUT')
        expect(op.parameters.map((p: { name: string }) => p.name)).toContain('Idempotency-Key');
    }
    expect(Object.values(doc.paths).flatMap((item) => Object.keys(item as object))).toHaveLength(routes.length);
    expect(doc.security).toEqual([{ sigv4: [] }]);
  });

  it('refuses to generate a document for a route whose handler keeps no contract, naming the route', async () => {
    const undocumented: Route = {
      method: 'GET',
      path: '/v1/nothing',
      handler: 'test/fixtures/functions/no-contract.ts',
      access: { table: 'read' },
    };
    await expect(contractOf(undocumented)).rejects.toThrow(
      'GET /v1/nothing: test/fixtures/functions/no-contract.ts has no handler made by httpHandler',
    );
    await expect(buildDocument([undocumented])).rejects.toThrow('GET /v1/nothing');
  });

  it('generates from the schemas the handler validates with: a limit in a body schema is the limit in the document', async () => {
    const handler = httpHandler(
      {
        summary: 'a probe',
        body: z.strictObject({ eventIds: z.array(z.string()).max(7) }),
        responses: { 200: z.object({ n: z.number() }) },
      },
      async ({ body }) => ok({ n: body.eventIds.length }),
    );
    const schema = z.toJSONSchema(handler.contract.body!, { io: 'input' }) as unknown as {
      properties: { eventIds: { maxItems: number } };
    };
    expect(schema.properties.eventIds.maxItems).toBe(7);
    const doc = JSON.parse(read('docs/openapi.json'));
    expect(
      doc.paths['/v1/batches/{batchId}/events'].post.requestBody.content['application/json'].schema.anyOf[0].properties
        .eventIds.maxItems,
    ).toBe(1000);
  });

  it('passes the Redocly linter with no errors and no warnings', async () => {
    const run = promisify(execFile);
    const { stdout, stderr } = await run(
      process.execPath,
      [join(projectRoot, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', 'docs/openapi.json', '--format=json'],
      {
        cwd: projectRoot,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout: string; stderr: string }) => error);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; message: string }[];
    };
    expect(
      report.problems.map((p) => `${p.ruleId}: ${p.message}`),
      stderr,
    ).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('is served at GET /v1/openapi.json as written in docs/', async () => {
    const res = await call('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(read('docs/openapi.json')));
  });
});
