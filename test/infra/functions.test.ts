import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeGroup, routes } from '../../functions/api/routes';
import { writeGroupEntry } from '../../infra/constructs/api';
import { projectRoot } from '../../infra/constructs/functions';
import { apiGatewayEvent } from '../../infra/local/api-gateway-event';
import type { ServiceFunction } from '../../infra/constructs/functions';
import { bundleFunction } from '../support/bundle';
import { useTestTable, type TestTable } from '../support/dynamo';
import { fixtureProps } from './fixture';
import { logicalId, resourcesOf, synth, testOutdir, type Synthesized } from './synth';

let fixture: Synthesized;
let all: ServiceFunction[];
beforeAll(() => {
  fixture = synth('functions', fixtureProps);
  const { api, workflows, imports } = fixture.stack;
  all = [
    ...api.functions.values(),
    ...workflows.taskFunctions.values(),
    imports.node.findChild('Function') as ServiceFunction,
  ];
});

const props = (fn: ServiceFunction) =>
  resourcesOf(fixture.template, 'AWS::Lambda::Function')[logicalId(fn.function)]!.Properties;

/** STATE_MACHINE_ARNS is a Fn::Join of JSON text and Refs: workflow name → state machine logical id. */
function stateMachineArns(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  const parts = (value as { 'Fn::Join': [string, (string | { Ref: string })[]] })['Fn::Join'][1];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : p.Ref)).join(''));
}

describe('every function', () => {
  it('runs Node.js 22 on arm64 with index.handler of its bundle', () => {
    expect(all.length).toBe(6 + 4 + 1);
    for (const fn of all)
      expect(props(fn), fn.spec.handler).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
  });

  it('logs JSON to its own log group, kept 90 days', () => {
    const groups = new Set<string>();
    for (const fn of all) {
      const logging = props(fn).LoggingConfig;
      expect(logging.LogFormat).toBe('JSON');
      groups.add(logging.LogGroup.Ref);
      expect(
        resourcesOf(fixture.template, 'AWS::Logs::LogGroup')[logging.LogGroup.Ref]!.Properties.RetentionInDays,
      ).toBe(90);
    }
    expect(groups.size).toBe(all.length);
  });

  it('enables source maps and is told only the resources it may use', () => {
    for (const fn of all) {
      const env = props(fn).Environment.Variables;
      expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
      // Four-eyes approval is off unless the stack is told otherwise.
      expect(env.APPROVAL).toBeUndefined();
      expect(env.TABLE_NAME).toEqual({ Ref: logicalId(fixture.stack.data.table) });
      expect(env.BUCKET_NAME, fn.spec.handler).toEqual(
        fn.spec.access.bucket ? { Ref: logicalId(fixture.stack.imports.bucket) } : undefined,
      );
      const expected = Object.fromEntries(
        (fn.spec.access.workflows ?? []).map((wf) => [wf, logicalId(fixture.stack.workflows.stateMachines.get(wf)!)]),
      );
      expect(stateMachineArns(env.STATE_MACHINE_ARNS), fn.spec.handler).toEqual(expected);
    }
  });

  it('is told the approval setting when the stack has one, and a bad one fails the synth', () => {
    const approving = synth('functions-approval', {
      ...fixtureProps,
      approval: { minEvents: 50, minChargeChange: '100.00' },
    });
    const fns = [...approving.stack.api.functions.values()];
    for (const fn of fns) {
      expect(
        resourcesOf(approving.template, 'AWS::Lambda::Function')[logicalId(fn.function)]!.Properties.Environment
          .Variables,
      ).toMatchObject({
        APPROVAL: 'on',
        APPROVAL_MIN_EVENTS: '50',
        APPROVAL_MIN_CHARGE_CHANGE: '100.00',
      });
    }
    expect(() => synth('functions-approval-bad', { ...fixtureProps, approval: { minChargeChange: '-5' } })).toThrow(
      /APPROVAL_MIN_CHARGE_CHANGE/,
    );
  });

  it("times out within API Gateway's 30 s when it serves a route, and gets minutes for tasks and imports", () => {
    for (const fn of all) {
      const timeout = props(fn).Timeout as number;
      if (fn.kind === 'api') expect(timeout).toBeLessThan(30);
      else expect(timeout, fn.spec.handler).toBeGreaterThanOrEqual(300);
    }
  });
});

describe('bundling', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await useTestTable('bundle');
  });
  afterAll(async () => table.drop());

  it("builds a route group offline into an ESM bundle with a source map, holding only its routes' handlers, which serves a request on plain Node", async () => {
    const health = routes.filter((r) => routeGroup(r) === 'health-read');
    const entry = writeGroupEntry(testOutdir('bundling-entry'), 'health-read', health, projectRoot);
    const dir = bundleFunction('bundling', { handler: entry, access: { table: 'read' } }, 'api');

    const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(bundle.startsWith("import { createRequire as __cjsCreateRequire } from 'node:module';")).toBe(true);
    expect(bundle.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('functions/api/health.ts'))).toBe(true);
    expect(map.sources.some((s) => s.endsWith('functions/api/route-group.ts'))).toBe(true);
    const handlers = map.sources.filter((s) => /functions\/api\/[a-z-]+\/[a-z-]+\.ts$/.test(s));
    expect(handlers, 'no handler module of another group').toEqual([]);
    expect(bundle, 'the AWS SDK is bundled, not imported from the runtime').not.toMatch(/from\s*"@aws-sdk\//);

    // A separate Node process, as Lambda runs it: the bundle alone, outside the project (no node_modules
    // to fall back on), answers GET /v1/health.
    const lambdaDir = mkdtempSync(join(tmpdir(), 'bundle-'));
    for (const file of ['index.mjs', 'index.mjs.map']) copyFileSync(join(dir, file), join(lambdaDir, file));
    const event = apiGatewayEvent({
      method: 'GET',
      routePath: '/v1/health',
      rawPath: '/v1/health',
      headers: { 'x-actor': 'bundle-test' },
    });
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(join(lambdaDir, 'index.mjs')).href)});
      const context = { awsRequestId: 'bundle-test', functionName: 'health', getRemainingTimeInMillis: () => 10000 };
      console.log(JSON.stringify(await handler(JSON.parse(process.env.EVENT), context)));`;
    const run = promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: lambdaDir,
      env: {
        PATH: process.env.PATH,
        EVENT: JSON.stringify(event),
        TABLE_NAME: table.tableName,
        DYNAMODB_ENDPOINT: table.endpoint,
        AWS_REGION: 'us-east-1',
        LOG_LEVEL: 'SILENT',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    const { stdout } = await run.finally(() => rmSync(lambdaDir, { recursive: true, force: true }));
    const response = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).status).toBe('ok');
  });
});
