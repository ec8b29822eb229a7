// The one route table: API Gateway (CDK) and the local HTTP server are both generated from it.
// `handler` is a module path from the project root whose `handler` export serves the route;
// `access` is what that function may touch, and CDK grants exactly that.
import type { WorkflowName } from '../workflow/workflows';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Access {
  table: 'read' | 'readWrite';
  bucket?: 'read' | 'readWrite';
  /** Workflows the handler starts or describes. */
  workflows?: readonly WorkflowName[];
}

export interface Route {
  method: HttpMethod;
  /** API Gateway path syntax: `/v1/batches/{batchId}`. */
  path: string;
  handler: string;
  access: Access;
}

export const routes: readonly Route[] = [
  { method: 'GET', path: '/v1/health', handler: 'functions/api/health.ts', access: { table: 'read' } },
];
