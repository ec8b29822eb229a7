// The bad-input corpus: malformed requests across the JSON routes. Each gets a problem+json
// answer with a stable code, and a scan of the table proves nothing was written or half-written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
const sub = uniqueId('sub');
let batchId = '';
beforeAll(async () => {
  table = await useTestTable('corpus');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription({ periodMinimum: '5.00' }) });
  batchId = (await call('POST', '/v1/batches', { body: { type: 'RERATE' } })).body.batchId;
});
afterAll(async () => table.drop());

/** Every item of the table, as a stable string: equal before and after means nothing changed. */
async function snapshot(): Promise<string> {
  const items: unknown[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await table.raw.send(
      new ScanCommand({ TableName: table.tableName, ExclusiveStartKey: start as never, ConsistentRead: true }),
    );
    items.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

const ev = (o: Record<string, unknown>) => ({ events: [anEvent({ subscriptionId: sub, ...o })] });
const huge = 'x'.repeat(2_000_000);

type Case = [
  name: string,
  method: string,
  path: () => string,
  body: unknown,
  status: number,
  code: string,
  headers?: Record<string, string>,
];

const cases: Case[] = [
  // subscriptions
  [
    'subscription: body not JSON',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    '{"accountId":',
    400,
    'VALIDATION_FAILED',
  ],
  ['subscription: array body', 'PUT', () => `/v1/subscriptions/${uniqueId('s')}`, '[1,2]', 400, 'VALIDATION_FAILED'],
  [
    'subscription: currency as a number',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    aSubscription({ currency: 840 }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'subscription: price with exponent',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '5e-2' } } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'subscription: price with 7 decimals',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.0000001' } } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'subscription: start date in year 1900',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    aSubscription({ startDate: '1900-01-01' }),
    400,
    'VALIDATION_FAILED',
  ],
  ['subscription: id with a space', 'PUT', () => '/v1/subscriptions/a%20b', aSubscription(), 400, 'VALIDATION_FAILED'],
  [
    'subscription: id with SQL injection',
    'PUT',
    () => `/v1/subscriptions/${encodeURIComponent("x'; DROP TABLE--")}`,
    aSubscription(),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'subscription: product id with a hash',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    aSubscription({ products: { 'vo#ice': { register: 'MINUTES', unitPrice: '1' } } }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'subscription: form-encoded body',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    'accountId=a',
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    { 'content-type': 'application/x-www-form-urlencoded' },
  ],
  [
    'subscription: body over 1 MB',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    JSON.stringify({ accountId: huge }),
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  // usage events (request-level refusals; per-event ones are answered in `rejected`)
  ['events: missing events', 'POST', () => '/v1/usage-events', {}, 400, 'VALIDATION_FAILED'],
  ['events: events is an object', 'POST', () => '/v1/usage-events', { events: {} }, 400, 'VALIDATION_FAILED'],
  [
    'events: 501 events',
    'POST',
    () => '/v1/usage-events',
    { events: Array.from({ length: 501 }, () => ({})) },
    400,
    'VALIDATION_FAILED',
  ],
  ['events: null body', 'POST', () => '/v1/usage-events', 'null', 400, 'VALIDATION_FAILED'],
  [
    'events: unknown top-level field',
    'POST',
    () => '/v1/usage-events',
    { events: [], source: 'x' },
    400,
    'VALIDATION_FAILED',
  ],
  // grants
  [
    'grant: negative amount',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: '-5' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: amount with exponent',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: 1e21 },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: amount as boolean',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: true },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: implausible amount',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: '999999999999999' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: lower-case register',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/minutes/grants`,
    { amount: '1' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: unknown subscription',
    'POST',
    () => '/v1/subscriptions/nobody/balances/MINUTES/grants',
    { amount: '1' },
    404,
    'NOT_FOUND',
  ],
  [
    'grant: date without zone',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: '1', validFrom: '2026-03-01T00:00:00' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: 31 February',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: '1', validTo: '2026-02-31T00:00:00Z' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'grant: reason of 10,000 characters',
    'POST',
    () => `/v1/subscriptions/${sub}/balances/MINUTES/grants`,
    { amount: '1', reason: 'r'.repeat(10_000) },
    400,
    'VALIDATION_FAILED',
  ],
  // bill lines
  [
    'bill status: unknown status',
    'POST',
    () => `/v1/subscriptions/${sub}/bill-lines/2026-03/status`,
    { status: 'PAID' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'bill status: back to OPEN',
    'POST',
    () => `/v1/subscriptions/${sub}/bill-lines/2026-03/status`,
    { status: 'OPEN' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'bill status: period month 13',
    'POST',
    () => `/v1/subscriptions/${sub}/bill-lines/2026-13/status`,
    { status: 'BILLED' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'bill status: no such line',
    'POST',
    () => `/v1/subscriptions/${sub}/bill-lines/2026-03/status`,
    { status: 'BILLED' },
    404,
    'NOT_FOUND',
  ],
  // batches
  ['batch: unknown type', 'POST', () => '/v1/batches', { type: 'R&R' }, 400, 'VALIDATION_FAILED'],
  ['batch: lower-case type', 'POST', () => '/v1/batches', { type: 'rating' }, 400, 'VALIDATION_FAILED'],
  [
    'batch: creditOnly as a string',
    'POST',
    () => '/v1/batches',
    { type: 'REVERSE_REPLACE', options: { creditOnly: 'yes' } },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch: creditOnly on RATING',
    'POST',
    () => '/v1/batches',
    { type: 'RATING', options: { creditOnly: true } },
    422,
    'ACTION_NOT_ALLOWED_FOR_TYPE',
  ],
  [
    'batch: unknown arPolicy',
    'POST',
    () => '/v1/batches',
    { type: 'RERATE', options: { arPolicy: 'IGNORE' } },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch: future effectiveAt',
    'POST',
    () => '/v1/batches',
    { type: 'RERATE', options: { effectiveAt: '2090-01-01T00:00:00Z' } },
    422,
    'FUTURE_DATED',
  ],
  [
    'batch: name of 1,000 characters',
    'POST',
    () => '/v1/batches',
    { type: 'RERATE', name: 'n'.repeat(1000) },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch events: empty id list',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { eventIds: [] },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch events: 1,001 ids',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { eventIds: Array.from({ length: 1001 }, (_, i) => `e${i}`) },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch events: ids and criteria together',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { eventIds: ['a'], criteria: { subscriptionIds: [sub] } },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch events: unbounded criteria',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { criteria: { status: 'RATED' } },
    422,
    'CRITERIA_TOO_BROAD',
  ],
  [
    'batch events: window ends before it starts',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { criteria: { subscriptionIds: [sub], from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' } },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch events: unknown subscription in criteria',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { criteria: { subscriptionIds: ['nobody'] } },
    404,
    'NOT_FOUND',
  ],
  [
    'batch events: forged cursor',
    'POST',
    () => `/v1/batches/${batchId}/events`,
    { criteria: { subscriptionIds: [sub] }, cursor: 'eyJ4IjoxfQ' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch events: unknown batch',
    'POST',
    () => '/v1/batches/00000000-0000-4000-8000-000000000000/events',
    { eventIds: ['a'] },
    404,
    'NOT_FOUND',
  ],
  [
    'batch replacements: on a RERATE batch',
    'POST',
    () => `/v1/batches/${batchId}/replacements`,
    { replacements: [{ originalEventId: 'a', events: [] }] },
    422,
    'ACTION_NOT_ALLOWED_FOR_TYPE',
  ],
  [
    'batch replacements: 51 events for one original',
    'POST',
    () => `/v1/batches/${batchId}/replacements`,
    { replacements: [{ originalEventId: 'a', events: Array.from({ length: 51 }, () => ({})) }] },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch remove: unknown mode',
    'POST',
    () => `/v1/batches/${batchId}/events/remove`,
    { mode: 'SOME' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch remove: rule without conditions',
    'POST',
    () => `/v1/batches/${batchId}/events/remove`,
    { mode: 'BY_RULE', rule: {} },
    400,
    'VALIDATION_FAILED',
  ],
  ['batch submit: from DRAFT', 'POST', () => `/v1/batches/${batchId}/submit`, undefined, 409, 'INVALID_TRANSITION'],
  ['batch revert: from DRAFT', 'POST', () => `/v1/batches/${batchId}/revert`, undefined, 409, 'INVALID_TRANSITION'],
  [
    'batch preview: of a DRAFT batch',
    'GET',
    () => `/v1/batches/${batchId}/preview`,
    undefined,
    409,
    'INVALID_TRANSITION',
  ],
  ['batch: id that is not a uuid', 'GET', () => '/v1/batches/1%27%20OR%201=1', undefined, 400, 'VALIDATION_FAILED'],
  // listings
  [
    'list events: limit 0',
    'GET',
    () => `/v1/usage-events?subscriptionId=${sub}&limit=0`,
    undefined,
    400,
    'VALIDATION_FAILED',
  ],
  [
    'list events: limit 1001',
    'GET',
    () => `/v1/usage-events?subscriptionId=${sub}&limit=1001`,
    undefined,
    400,
    'VALIDATION_FAILED',
  ],
  [
    'list events: limit not a number',
    'GET',
    () => `/v1/usage-events?subscriptionId=${sub}&limit=ten`,
    undefined,
    400,
    'VALIDATION_FAILED',
  ],
  [
    'list events: status unknown',
    'GET',
    () => `/v1/usage-events?subscriptionId=${sub}&status=DELETED`,
    undefined,
    400,
    'VALIDATION_FAILED',
  ],
  ['list batches: status unknown', 'GET', () => '/v1/batches?status=DONE', undefined, 400, 'VALIDATION_FAILED'],
  // idempotency
  // A body JSON.parse would read last-wins, or text holding control characters; a malformed body where none is read.
  [
    'event: a key given twice',
    'POST',
    () => '/v1/usage-events',
    `{"events":[${JSON.stringify(anEvent({ subscriptionId: sub })).replace('{', '{"quantity":"1",')}]}`,
    400,
    'VALIDATION_FAILED',
  ],
  [
    'event: NUL in the event id',
    'POST',
    () => '/v1/usage-events',
    ev({ eventId: `evt\u0000${uniqueId('x')}` }),
    400,
    'VALIDATION_FAILED',
  ],
  [
    'batch: escape character in the name',
    'POST',
    () => '/v1/batches',
    { type: 'RATING', name: 'a\u001b[31mred' },
    400,
    'VALIDATION_FAILED',
  ],
  [
    'subscription: NUL in a product name',
    'PUT',
    () => `/v1/subscriptions/${uniqueId('s')}`,
    aSubscription({ accountId: 'acct\u0000' }),
    400,
    'VALIDATION_FAILED',
  ],
  ['lock: malformed JSON body', 'POST', () => `/v1/batches/${batchId}/lock`, '{"x":', 400, 'VALIDATION_FAILED'],
  [
    'idempotency: key with a newline',
    'POST',
    () => '/v1/usage-events',
    ev({}),
    400,
    'VALIDATION_FAILED',
    { 'idempotency-key': 'a\nb' },
  ],
];

describe('the bad-input corpus', () => {
  it(`has at least 50 malformed inputs (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(50));

  it.each(
    cases.map(([name, method, path, body, status, code, headers]) => ({
      title: `${name} → ${status} ${code}`,
      method,
      path,
      body,
      status,
      code,
      headers,
    })),
  )('$title', async ({ method, path, body, status, code, headers }) => {
    const before = await snapshot();
    const res = await call(method, path(), { body, ...(headers ? { headers } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status, code, type: `urn:usage-corrections:problem:${code}` });
    expect(typeof res.body.detail).toBe('string');
    expect(await snapshot()).toBe(before);
  });

  it('answers each bad event of an ingest with its index and code, and stores only the good one', async () => {
    const good = anEvent({ subscriptionId: sub });
    const bad = [
      { ...anEvent({ subscriptionId: sub }), quantity: '1.5e3' },
      { ...anEvent({ subscriptionId: sub }), quantity: '12.1234567' },
      { ...anEvent({ subscriptionId: sub }), occurredAt: '2026-03-01' },
      { ...anEvent({ subscriptionId: sub }), eventId: '<script>alert(1)</script>' },
      { ...anEvent({ subscriptionId: sub }), attributes: { '=cmd': 'x' } },
      { ...anEvent({ subscriptionId: sub }), quantity: null },
      'not an event',
    ];
    const res = await call('POST', '/v1/usage-events', { body: { events: [...bad, good] } });
    expect(res.body.accepted).toBe(1);
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(res.body.rejected.every((r: { code: string }) => r.code === 'VALIDATION_FAILED')).toBe(true);
  });
});
