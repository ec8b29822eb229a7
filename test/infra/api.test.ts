import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/api/routes';
import { mergeAccess, type RouteSpec } from '../../infra/constructs/api';
import { fixtureProps, fixtureRoutes } from './fixture';
import { logicalId, resourcesOf, synth, type Synthesized } from './synth';

let real: Synthesized;
let fixture: Synthesized;
beforeAll(() => {
  real = synth('api-real');
  fixture = synth('api-fixture', fixtureProps);
});

/** Route key → the Description (= handler module) of the function its integration invokes. */
function routedHandlers(s: Synthesized): Map<string, string> {
  const integrations = resourcesOf(s.template, 'AWS::ApiGatewayV2::Integration');
  const functions = resourcesOf(s.template, 'AWS::Lambda::Function');
  const routed = new Map<string, string>();
  for (const route of Object.values(resourcesOf(s.template, 'AWS::ApiGatewayV2::Route'))) {
    const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
    const integration = integrations[integrationId]!.Properties;
    expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    const fn = functions[integration.IntegrationUri['Fn::GetAtt'][0]];
    expect(fn, `${route.Properties.RouteKey} points to a function`).toBeDefined();
    routed.set(route.Properties.RouteKey, fn!.Properties.Description);
  }
  return routed;
}

describe.each([
  ['the real route table', () => real, routes],
  ['a fixture route table', () => fixture, fixtureRoutes],
] as const)('the HTTP API from %s', (_name, stackOf, table: readonly RouteSpec[]) => {
  it('serves every route of the route table, and no other route', () => {
    const keys = Object.values(resourcesOf(stackOf().template, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(table.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('requires IAM (SigV4) authorization on every route', () => {
    for (const route of Object.values(resourcesOf(stackOf().template, 'AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties.AuthorizationType, route.Properties.RouteKey).toBe('AWS_IAM');
    }
  });

  it('sends each route to the function built from its handler module', () => {
    const routed = routedHandlers(stackOf());
    for (const r of table) expect(routed.get(`${r.method} ${r.path}`), `${r.method} ${r.path}`).toBe(r.handler);
  });

  it('builds one function per handler module', () => {
    const api = stackOf().stack.api;
    expect([...api.functions.keys()].sort()).toEqual([...new Set(table.map((r) => r.handler))].sort());
    const descriptions = Object.values(resourcesOf(stackOf().template, 'AWS::Lambda::Function')).map((f) => f.Properties.Description);
    for (const handler of new Set(table.map((r) => r.handler))) {
      expect(descriptions.filter((d) => d === handler), handler).toHaveLength(1);
    }
  });

  it('lets API Gateway invoke each function only for its own routes of this API', () => {
    const permissions = Object.values(resourcesOf(stackOf().template, 'AWS::Lambda::Permission')).filter(
      (p) => p.Properties.Principal === 'apigateway.amazonaws.com',
    );
    expect(permissions).toHaveLength(table.length);
    const apiId = logicalId(stackOf().stack.api.httpApi);
    for (const p of permissions) {
      const sourceArn = JSON.stringify(p.Properties.SourceArn);
      expect(sourceArn).toContain(`{"Ref":"${apiId}"}`);
      expect(table.some((r) => sourceArn.endsWith(`/*/*${r.path}"]]}`))).toBe(true);
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
    expect(format).toMatchObject({ requestId: '$context.requestId', userArn: '$context.identity.userArn', status: '$context.status' });
    expect(resourcesOf(real.template, 'AWS::Logs::LogGroup')[logGroupId]!.Properties.RetentionInDays).toBe(90);
  });
});

describe('a handler module serving several routes', () => {
  it('is granted what all its routes need together', () => {
    expect(mergeAccess([{ table: 'read' }, { table: 'readWrite', workflows: ['submit'] }, { table: 'read', bucket: 'read', workflows: ['lock-for-review', 'submit'] }])).toEqual({
      table: 'readWrite',
      bucket: 'read',
      workflows: ['lock-for-review', 'submit'],
    });
    expect(mergeAccess([{ table: 'read', bucket: 'read' }, { table: 'read', bucket: 'readWrite' }])).toEqual({ table: 'read', bucket: 'readWrite' });
    expect(mergeAccess([{ table: 'read' }])).toEqual({ table: 'read' });
  });
});

describe('a route table with mistakes', () => {
  it('refuses a route listed twice', () => {
    const twice = [...routes, ...routes];
    expect(() => synth('api-twice', { routes: twice })).toThrow(/GET \/v1\/health is listed twice/);
  });

  it('refuses a handler module that does not exist', () => {
    expect(() => synth('api-missing', { routes: [{ method: 'GET', path: '/v1/nothing', handler: 'functions/api/no-such-module.ts', access: { table: 'read' } }] })).toThrow(
      /no-such-module/,
    );
  });

  it('refuses a route that starts a workflow that does not exist', () => {
    expect(() =>
      synth('api-no-workflow', { routes: [{ method: 'POST', path: '/v1/x', handler: 'functions/api/health.ts', access: { table: 'read', workflows: ['nope'] } }] }),
    ).toThrow(/needs workflow 'nope'/);
  });
});
