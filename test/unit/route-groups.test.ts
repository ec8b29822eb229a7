import { describe, expect, it } from 'vitest';
import { routeGroupHandler, type ApiHandler } from '../../functions/api/route-group';
import { routeGroup, routeGroups, routeKey, routes } from '../../functions/api/routes';
import { apiGatewayEvent, lambdaContext } from '../../infra/local/api-gateway-event';

describe('routeGroup', () => {
  it('names the area of the path and exactly the access the route needs', () => {
    expect(routeGroup({ path: '/v1/batches/{batchId}', access: { table: 'read' } })).toBe('batches-read');
    expect(routeGroup({ path: '/v1/batches', access: { table: 'readWrite' } })).toBe('batches-write');
    expect(
      routeGroup({ path: '/v1/batches/{batchId}/submit', access: { table: 'readWrite', workflows: ['submit'] } }),
    ).toBe('batches-write-submit');
    expect(routeGroup({ path: '/v1/balance-transfers', access: { table: 'readWrite', events: true } })).toBe(
      'balance-transfers-write-events',
    );
    expect(routeGroup({ path: '/v1/results/{key+}', access: { table: 'read', bucket: 'read' } })).toBe(
      'results-read-bucket-read',
    );
  });

  it('puts routes needing the same workflows in one group whatever order they name them in', () => {
    const a = routeGroup({ path: '/v1/x', access: { table: 'readWrite', workflows: ['b', 'a'] } });
    expect(a).toBe(routeGroup({ path: '/v1/x/y', access: { table: 'readWrite', workflows: ['a', 'b', 'a'] } }));
    expect(a).not.toBe(routeGroup({ path: '/v1/x', access: { table: 'readWrite', workflows: ['a'] } }));
  });

  it('groups the real route table so that every route of a group needs the same access and lives in the same area', () => {
    const groups = routeGroups(routes);
    expect([...groups.values()].flat()).toHaveLength(routes.length);
    for (const [group, served] of groups) {
      const areas = new Set(served.map((r) => r.path.split('/')[2]));
      expect(areas.size, group).toBe(1);
      const accesses = new Set(
        served.map((r) => JSON.stringify({ ...r.access, workflows: [...(r.access.workflows ?? [])].sort() })),
      );
      expect(accesses.size, group).toBe(1);
    }
  });
});

describe('a route group function', () => {
  const event = (method: string, path: string) => apiGatewayEvent({ method, routePath: path, rawPath: path });
  const answer =
    (text: string): ApiHandler =>
    async (e) => ({ statusCode: 200, body: `${text} ${e.routeKey}` });

  it('hands each request to the handler module of its route, importing a module on its first request only', async () => {
    const imported: string[] = [];
    const loader = (name: string) => async () => {
      imported.push(name);
      return { handler: answer(name) };
    };
    const fn = routeGroupHandler({ 'GET /v1/things': loader('list'), 'GET /v1/things/{id}': loader('one') });
    expect(imported).toEqual([]);
    expect(await fn(event('GET', '/v1/things/{id}'), lambdaContext('test'))).toEqual({
      statusCode: 200,
      body: 'one GET /v1/things/{id}',
    });
    expect(await fn(event('GET', '/v1/things'), lambdaContext('test'))).toEqual({
      statusCode: 200,
      body: 'list GET /v1/things',
    });
    expect(await fn(event('GET', '/v1/things/{id}'), lambdaContext('test'))).toEqual({
      statusCode: 200,
      body: 'one GET /v1/things/{id}',
    });
    expect(imported).toEqual(['one', 'list']);
  });

  it('refuses a route it does not serve: API Gateway never sends one, so it is a wiring mistake', async () => {
    const fn = routeGroupHandler({
      [routeKey({ method: 'GET', path: '/v1/things' })]: async () => ({ handler: answer('list') }),
    });
    await expect(fn(event('POST', '/v1/things'), lambdaContext('test'))).rejects.toThrow(
      'this function does not serve POST /v1/things',
    );
  });
});
