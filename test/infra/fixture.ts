// A fuller route table and workflow list than the real (still young) ones, so the stack's wiring
// is proven now: shared handler modules, path parameters, bucket access, workflows started from
// routes, Tasks nested in Map and Parallel states, and a task shared by two workflows.
import type { RouteSpec } from '../../infra/constructs/api';
import type { FunctionSpec } from '../../infra/constructs/functions';
import type { WorkflowSpec } from '../../infra/constructs/workflows';
import { routes } from '../../functions/api/routes';

const fixtures = 'test/fixtures/functions';

// Paths of their own under /v1/fixture, so they never collide with the real route table.
export const fixtureRoutes: readonly RouteSpec[] = [
  ...routes.filter((r) => r.path === '/v1/health'),
  { method: 'GET', path: '/v1/fixture/batches', handler: `${fixtures}/batches.ts`, access: { table: 'read' } },
  {
    method: 'GET',
    path: '/v1/fixture/batches/{batchId}',
    handler: `${fixtures}/batches.ts`,
    access: { table: 'read' },
  },
  { method: 'POST', path: '/v1/fixture/batches', handler: `${fixtures}/batches.ts`, access: { table: 'readWrite' } },
  {
    method: 'POST',
    path: '/v1/fixture/batches/{batchId}/submit',
    handler: `${fixtures}/actions.ts`,
    access: { table: 'readWrite', workflows: ['fixture-submit'] },
  },
  {
    method: 'POST',
    path: '/v1/fixture/batches/{batchId}/revert',
    handler: `${fixtures}/actions.ts`,
    access: { table: 'readWrite', workflows: ['fixture-revert'] },
  },
  {
    method: 'GET',
    path: '/v1/fixture/results/{key+}',
    handler: `${fixtures}/results.ts`,
    access: { table: 'read', bucket: 'read' },
  },
];

const task = (access: FunctionSpec['access']): FunctionSpec => ({ handler: `${fixtures}/task.ts`, access });

export const fixtureTaskFunctions: Readonly<Record<string, FunctionSpec>> = {
  Plan: task({ table: 'readWrite' }),
  ProcessChunk: task({ table: 'readWrite' }),
  Finalize: task({ table: 'readWrite', bucket: 'readWrite' }),
  ReleaseLocks: task({ table: 'readWrite' }),
};

export const fixtureWorkflows: Readonly<Record<string, WorkflowSpec>> = {
  'fixture-submit': {
    definition: 'test/fixtures/statemachines/fixture-submit.asl.json',
    tasks: ['Plan', 'ProcessChunk', 'Finalize', 'ReleaseLocks'],
  },
  'fixture-revert': { definition: 'test/fixtures/statemachines/fixture-revert.asl.json', tasks: ['ReleaseLocks'] },
};

export const fixtureProps = { routes: fixtureRoutes, taskFunctions: fixtureTaskFunctions, workflows: fixtureWorkflows };
