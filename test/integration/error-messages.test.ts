// Refusals a newcomer can act on: each names the limit, the row or the rule it enforces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('messages');
});
afterAll(async () => table.drop());

const draft = async () => (await call('POST', '/v1/batches', { body: { type: 'RERATE' } })).body.batchId as string;

describe('errors that name the limit', () => {
  it('refuses 1,001 eventIds naming the maximum of 1,000', async () => {
    const batchId = await draft();
    const eventIds = Array.from({ length: 1001 }, (_, i) => `e-${i}`);
    const res = await call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body', code: 'VALIDATION_FAILED', message: 'eventIds: too many: 1,001 items; at most 1,000 items' },
    ]);
  });

  it('says a page limit above 1,000 is too large, naming the maximum', async () => {
    const res = await call('GET', '/v1/batches?limit=5000');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'query.limit', code: 'VALIDATION_FAILED', message: 'too large: at most 1,000' },
    ]);
  });

  it.each([
    ['a JSON number beyond a double', '1e400', 'quantity: too large: not a finite number'],
    [
      'a number of 16 digits',
      '1000000000000000',
      'quantity: too large: 1000000000000000; at most 15 digits before the decimal point',
    ],
    [
      'a string of 20 digits',
      '"12345678901234567890"',
      'quantity: too large: 20 digits before the decimal point; at most 15',
    ],
  ])('says an out-of-range quantity (%s) is too large, not "Invalid input"', async (_name, quantity, message) => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const event = JSON.stringify(anEvent({ subscriptionId: sub })).replace('"quantity":"30"', `"quantity":${quantity}`);
    const res = await call('POST', '/v1/usage-events', { body: `{"events":[${event}]}` });
    expect(res.status).toBe(200);
    expect(res.body.rejected).toEqual([expect.objectContaining({ index: 0, code: 'VALIDATION_FAILED', message })]);
  });

  it('names an unknown field instead of "Invalid input"', async () => {
    const res = await call('POST', '/v1/batches', { body: { type: 'RERATE', Name: 'typo' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body', code: 'VALIDATION_FAILED', message: 'unknown field "Name" (fields are case-sensitive)' },
    ]);
  });
});

describe('X-Actor on the local stack', () => {
  it('refuses an overlong X-Actor rather than cutting it, naming the limit', async () => {
    const res = await call('POST', '/v1/batches', { body: { type: 'RERATE' }, actor: 'a'.repeat(201) });
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe(
      'X-Actor is 201 characters; at most 200 are allowed (it is recorded as sent, never cut)',
    );
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'headers.x-actor' })]);
  });

  it('records a caller of exactly 200 characters as sent', async () => {
    const actor = 'b'.repeat(200);
    const res = await call('POST', '/v1/batches', { body: { type: 'RERATE' }, actor });
    expect(res.status).toBe(201);
    expect(res.body.createdBy).toBe(actor);
  });

  it('records a request without X-Actor as anonymous, as the reference documents', async () => {
    const res = await call('POST', '/v1/batches', { body: { type: 'RERATE' }, headers: { 'x-actor': '' } });
    expect(res.status).toBe(201);
    expect(res.body.createdBy).toBe('anonymous');
    const doc = (await call('GET', '/v1/openapi.json')).body;
    expect(doc.info.description).toContain('without it the caller is recorded as\n  `anonymous`');
  });
});
