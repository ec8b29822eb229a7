// CloudFormation refuses a stack of more than 500 resources. The stack keeps a fifth of that free
// for what is still to come, and a route costs what docs/deploy.md says it costs.
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/api/routes';
import type { RouteSpec } from '../../infra/constructs/api';
import { synth, type Synthesized } from './synth';

const resourceCount = (s: Synthesized) => Object.keys(s.template.toJSON().Resources).length;

let real: Synthesized;
beforeAll(() => {
  real = synth('budget-real');
});

describe('the stack', () => {
  it('holds at most 400 resources of the 500 CloudFormation allows', () => {
    expect(resourceCount(real)).toBeLessThanOrEqual(400);
  });

  it('grows by two resources for a route in an existing group, by seven for a route in a new group', () => {
    const inBatchesRead: RouteSpec = {
      method: 'GET',
      path: '/v1/batches/{batchId}/summary',
      handler: 'functions/api/batches/get-batch.ts',
      access: { table: 'read' },
    };
    const inNewArea: RouteSpec = {
      method: 'GET',
      path: '/v1/reports',
      handler: 'functions/api/health.ts',
      access: { table: 'read' },
    };
    const base = resourceCount(real);
    // The route and API Gateway's permission to invoke the group's function for it.
    expect(resourceCount(synth('budget-route', { routes: [...routes, inBatchesRead] }))).toBe(base + 2);
    // And the group's function, its role, policy, log group and integration.
    expect(resourceCount(synth('budget-group', { routes: [...routes, inNewArea] }))).toBe(base + 7);
  });
});
