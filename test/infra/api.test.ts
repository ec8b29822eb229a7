import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { routeGroup, routeGroups, routeKey, routes } from '../../functions/api/routes';
import type { RouteSpec } from '../../infra/constructs/api';
import { fixtureProps, fixtureRoutes } from './fixture';
import { logicalId, resourcesOf, synth, type Synthesized } from './synth';

let real: Synthesized;
let fixture: Synthesized;
beforeAll(() => {
  real = synth('api-real');
  fixture = synth('api-fixture', fixtureProps);
});

/** Route key → the logical id of the function its integration invokes. */
function routedFunctions(s: Synthesized): Map<string, string> {
  const integrations = resourcesOf(s.template, 'AWS::ApiGatewayV2::Integration');
  const functions = resourcesOf(s.template, 'AWS::Lambda::Function');
  const routed = new Map<string, string>();
  for (const route of Object.values(resourcesOf(s.template, 'AWS::ApiGatewayV2::Route'))) {
    const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
    const integration = integrations[integrationId]!.Properties;
    expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    const functionId = integration.IntegrationUri['Fn::GetAtt'][0] as string;
    expect(functions[functionId], `${route.Properties.RouteKey} points to a function`).toBeDefined();
    routed.set(route.Properties.RouteKey, functionId);
  }
  return routed;
}

describe.each([
  ['the real route table', () => real, routes],
  ['a fixture route table', () => fixture, fixtureRoutes],
] as const)('the HTTP API from %s', (_name, stackOf, table: readonly RouteSpec[]) => {
  it('serves every route of the route table, and no other route', () => {
    const keys = Object.values(resourcesOf(stackOf().template, 'AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    expect(keys.sort()).toEqual(table.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('requires IAM (SigV4) authorization on every route', () => {
    for (const route of Object.values(resourcesOf(stackOf().template, 'AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties.AuthorizationType, route.Properties.RouteKey).toBe('AWS_IAM');
    }
  });

  it('sends each route to the function of its group', () => {
    const routed = routedFunctions(stackOf());
    const api = stackOf().stack.api;
    for (const r of table)
      expect(routed.get(routeKey(r)), routeKey(r)).toBe(logicalId(api.functions.get(routeGroup(r))!.function));
  });

  it('builds one function per route group, and none for a route alone', () => {
    const api = stackOf().stack.api;
    const groups = routeGroups(table);
    expect([...api.functions.keys()].sort()).toEqual([...groups.keys()].sort());
    expect(groups.size).toBeLessThan(table.length);
    const apiFunctions = [...api.functions.values()].map((fn) => logicalId(fn.function));
    expect(new Set(routedFunctions(stackOf()).values())).toEqual(new Set(apiFunctions));
    for (const [group, served] of groups) {
      const description = resourcesOf(stackOf().template, 'AWS::Lambda::Function')[
        logicalId(api.functions.get(group)!.function)
      ]!.Properties.Description as string;
      expect(description, group).toBe(
        `Serves the ${group} routes of functions/api/routes.ts (${served.length} ${served.length === 1 ? 'route' : 'routes'})`,
      );
      expect(description.length).toBeLessThanOrEqual(256);
    }
  });

  it('lets API Gateway invoke each function only for its own routes of this API', () => {
    const permissions = Object.values(resourcesOf(stackOf().template, 'AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === 'apigateway.amazonaws.com',
    );
    expect(permissions).toHaveLength(table.length);
    const api = stackOf().stack.api;
    const apiId = logicalId(api.httpApi);
    for (const p of permissions) {
      const sourceArn = JSON.stringify(p.Properties.SourceArn);
      expect(sourceArn).toContain(`{"Ref":"${apiId}"}`);
      const group = [...api.functions].find(
        ([, fn]) => logicalId(fn.function) === p.Properties.FunctionName['Fn::GetAtt'][0],
      )?.[0];
      expect(group, sourceArn).toBeDefined();
      const own = table.filter((r) => routeGroup(r) === group);
      expect(
        own.some((r) => sourceArn.endsWith(`/*/*${r.path}"]]}`)),
        `${group}: ${sourceArn}`,
      ).toBe(true);
    }
  });
});

describe('the default stage', () => {
  it('is the only stage, deploys automatically and throttles every route', () => {
    const stages = Object.values(resourcesOf(real.template, 'AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    expect(stages[0]!.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('writes one JSON access-log line per request, with the caller identity, to a log group with retention', () => {
    const stage = Object.values(resourcesOf(real.template, 'AWS::ApiGatewayV2::Stage'))[0]!.Properties;
    const logGroupId = logicalId(real.stack.api.accessLogs);
    expect(stage.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      userArn: '$context.identity.userArn',
      status: '$context.status',
    });
    expect(resourcesOf(real.template, 'AWS::Logs::LogGroup')[logGroupId]!.Properties.RetentionInDays).toBe(90);
  });
});

describe('a group function', () => {
  it("has an entry importing exactly its routes' handler modules through the group dispatcher", () => {
    const entries = join(fixture.app.outdir, 'api-group-entries');
    const entry = readFileSync(join(entries, 'fixture-read.ts'), 'utf8');
    expect(entry).toContain('import { routeGroupHandler } from "../../../../functions/api/route-group.ts";');
    expect(entry).toContain(
      '"GET /v1/fixture/batches": () => import("../../../../test/fixtures/functions/batches.ts"),',
    );
    expect(entry).toContain(
      '"GET /v1/fixture/batches/{batchId}": () => import("../../../../test/fixtures/functions/batches.ts"),',
    );
    expect(entry).not.toContain('POST');
    expect(fixture.stack.api.functions.get('fixture-read')!.spec.handler).toBe(join(entries, 'fixture-read.ts'));
  });
});

describe('a route table with mistakes', () => {
  it('refuses a route listed twice', () => {
    const twice = [...routes, ...routes];
    expect(() => synth('api-twice', { routes: twice })).toThrow(/GET \/v1\/health is listed twice/);
  });

  it('refuses a handler module that does not exist', () => {
    expect(() =>
      synth('api-missing', {
        routes: [
          { method: 'GET', path: '/v1/nothing', handler: 'functions/api/no-such-module.ts', access: { table: 'read' } },
        ],
      }),
    ).toThrow(/no-such-module/);
  });

  it('refuses a route that starts a workflow that does not exist', () => {
    expect(() =>
      synth('api-no-workflow', {
        routes: [
          {
            method: 'POST',
            path: '/v1/x',
            handler: 'functions/api/health.ts',
            access: { table: 'read', workflows: ['nope'] },
          },
        ],
      }),
    ).toThrow(/needs workflow 'nope'/);
  });
});
