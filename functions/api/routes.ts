// The one route table: API Gateway (CDK) and the local HTTP server are both generated from it.
// `handler` is a module path from the project root whose `handler` export serves the route;
// `access` is what the route may touch, and CDK grants exactly that to the function serving it.
// Routes deploy in groups (routeGroup below): one Lambda function per group, not per route.
// A new route: add it here, write its handler with httpHandler (whose contract needs a summary and
// the schema of each answer; list the codes it refuses with), then `npm run openapi`:
// test/unit/openapi.test.ts fails until docs/openapi.json and docs/api.md document it.
import type { WorkflowName } from '../../shared/domain/workflows';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Access {
  table: 'read' | 'readWrite';
  bucket?: 'read' | 'readWrite';
  /** Workflows the handler starts or describes. */
  workflows?: readonly WorkflowName[];
  /** Publishes domain events (EventBridge PutEvents on the bus named by EVENT_BUS_NAME). */
  events?: true;
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
  // These two read no table; `access` has no "none" yet (the deployment's shape is changing on another branch).
  { method: 'GET', path: '/v1/openapi.json', handler: 'functions/api/get-openapi.ts', access: { table: 'read' } },
  { method: 'GET', path: '/v1/lookups', handler: 'functions/api/get-lookups.ts', access: { table: 'read' } },

  {
    method: 'PUT',
    path: '/v1/subscriptions/{subscriptionId}',
    handler: 'functions/api/subscriptions/put-subscription.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/subscriptions/{subscriptionId}',
    handler: 'functions/api/subscriptions/get-subscription.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/subscriptions/{subscriptionId}/balances',
    handler: 'functions/api/subscriptions/get-balances.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/subscriptions/{subscriptionId}/balances/{register}/grants',
    handler: 'functions/api/subscriptions/post-grant.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/subscriptions/{subscriptionId}/balances/{register}/ledger',
    handler: 'functions/api/subscriptions/get-ledger.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/subscriptions/{subscriptionId}/bill-lines',
    handler: 'functions/api/subscriptions/get-bill-lines.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/subscriptions/{subscriptionId}/bill-lines/{period}/status',
    handler: 'functions/api/subscriptions/post-bill-line-status.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'POST',
    path: '/v1/subscriptions/{subscriptionId}/adjustments',
    handler: 'functions/api/subscriptions/post-adjustment.ts',
    access: { table: 'readWrite', events: true },
  },
  {
    method: 'GET',
    path: '/v1/subscriptions/{subscriptionId}/adjustments',
    handler: 'functions/api/subscriptions/get-adjustments.ts',
    access: { table: 'read' },
  },

  {
    method: 'POST',
    path: '/v1/usage-events',
    handler: 'functions/api/usage-events/post-usage-events.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/usage-events',
    handler: 'functions/api/usage-events/get-usage-events.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/usage-events/{eventId}',
    handler: 'functions/api/usage-events/get-usage-event.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/usage-events/{eventId}/lineage',
    handler: 'functions/api/usage-events/get-usage-event-lineage.ts',
    access: { table: 'read' },
  },

  {
    method: 'POST',
    path: '/v1/batches',
    handler: 'functions/api/batches/post-batch.ts',
    access: { table: 'readWrite' },
  },
  { method: 'GET', path: '/v1/batches', handler: 'functions/api/batches/get-batches.ts', access: { table: 'read' } },
  {
    method: 'GET',
    path: '/v1/batches/{batchId}',
    handler: 'functions/api/batches/get-batch.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/events',
    handler: 'functions/api/batches/post-batch-events.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/replacements',
    handler: 'functions/api/batches/post-batch-replacements.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/events/remove',
    handler: 'functions/api/batches/post-batch-events-remove.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/batches/{batchId}/members',
    handler: 'functions/api/batches/get-batch-members.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/batches/{batchId}/log',
    handler: 'functions/api/batches/get-batch-log.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/batches/{batchId}/preview',
    handler: 'functions/api/batches/get-batch-preview.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/lock',
    handler: 'functions/api/batches/post-batch-lock.ts',
    access: { table: 'readWrite', workflows: ['lock-for-review'] },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/revert',
    handler: 'functions/api/batches/post-batch-revert.ts',
    access: { table: 'readWrite', workflows: ['revert-for-edit'] },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/cancel',
    handler: 'functions/api/batches/post-batch-cancel.ts',
    access: { table: 'readWrite', workflows: ['revert-for-edit'] },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/undo',
    handler: 'functions/api/batches/post-batch-undo.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'POST',
    path: '/v1/batches/{batchId}/submit',
    handler: 'functions/api/batches/post-batch-submit.ts',
    access: { table: 'readWrite', workflows: ['submit'] },
  },

  // CSV imports through the API: an upload URL into the imports bucket, then the import's report.
  {
    method: 'POST',
    path: '/v1/imports',
    handler: 'functions/api/imports/post-import.ts',
    access: { table: 'readWrite', bucket: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/imports/{importId}',
    handler: 'functions/api/imports/get-import.ts',
    access: { table: 'read', bucket: 'read' },
  },

  {
    method: 'PUT',
    path: '/v1/accounts/{accountId}',
    handler: 'functions/api/accounts/put-account.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/accounts/{accountId}',
    handler: 'functions/api/accounts/get-account.ts',
    access: { table: 'read' },
  },
  {
    method: 'GET',
    path: '/v1/accounts/{accountId}/log',
    handler: 'functions/api/accounts/get-account-log.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/bill-units',
    handler: 'functions/api/accounts/post-bill-unit.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/accounts/{accountId}/bill-units/{billUnitId}',
    handler: 'functions/api/accounts/get-bill-unit.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/bill-units/{billUnitId}/open-items',
    handler: 'functions/api/accounts/post-open-item.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/accounts/{accountId}/bill-units/{billUnitId}/open-items',
    handler: 'functions/api/accounts/get-open-items.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/bill-units/{billUnitId}/open-items/{openItemId}/resolve',
    handler: 'functions/api/accounts/post-resolve-open-item.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/accounts/{accountId}/balance-groups',
    handler: 'functions/api/accounts/get-balance-groups.ts',
    access: { table: 'read' },
  },
  {
    method: 'POST',
    path: '/v1/accounts/{accountId}/balance-groups/{balanceGroupId}/move',
    handler: 'functions/api/accounts/post-move-balance-group.ts',
    access: { table: 'readWrite', events: true },
  },

  {
    method: 'POST',
    path: '/v1/balance-transfers',
    handler: 'functions/api/balance-transfers/post-balance-transfer.ts',
    access: { table: 'readWrite', events: true },
  },

  {
    method: 'PUT',
    path: '/v1/settings/ledger-close',
    handler: 'functions/api/settings/put-ledger-close.ts',
    access: { table: 'readWrite' },
  },
  {
    method: 'GET',
    path: '/v1/settings/ledger-close',
    handler: 'functions/api/settings/get-ledger-close.ts',
    access: { table: 'read' },
  },
];

/** API Gateway's name for a route, sent as the event's `routeKey`: `GET /v1/batches/{batchId}`. */
export const routeKey = (route: { method: string; path: string }): string => `${route.method} ${route.path}`;

/** What grouping reads of a route: `Route`, or the CDK's wider `RouteSpec` (fixtures name their own workflows). */
interface Groupable {
  path: string;
  access: { table: 'read' | 'readWrite'; bucket?: 'read' | 'readWrite'; workflows?: readonly string[]; events?: true };
}

/**
 * The group a route deploys in: the routes of one area (`/v1/<area>/…`) that need exactly the same
 * access share one function, so every route still runs with its own `access` and no more, while
 * the stack holds a handful of functions instead of one per route (CloudFormation allows 500
 * resources a stack). `batches-read`, `batches-write-submit`, `accounts-write-events`.
 */
export function routeGroup(route: Groupable): string {
  const area = route.path.split('/').find((s) => s !== '' && !/^v\d+$/.test(s)) ?? 'root';
  const { table, bucket, workflows, events } = route.access;
  const level = (l: 'read' | 'readWrite') => (l === 'readWrite' ? 'write' : 'read');
  return [
    area.replace(/[{}+]/g, ''),
    level(table),
    ...(bucket ? [`bucket-${level(bucket)}`] : []),
    ...(events ? ['events'] : []),
    ...[...new Set(workflows)].sort(),
  ].join('-');
}

/** Routes by group, in route-table order. */
export function routeGroups<R extends Groupable>(table: readonly R[]): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const route of table) {
    const group = routeGroup(route);
    groups.set(group, [...(groups.get(group) ?? []), route]);
  }
  return groups;
}
