import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
const sub = uniqueId('sub');
beforeAll(async () => {
  table = await useTestTable('idem');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
});
afterAll(async () => table.drop());

const post = (body: unknown, key: string, actor = 'alice') =>
  call('POST', '/v1/usage-events', { body, headers: { 'idempotency-key': key }, actor });

describe('Idempotency-Key on POST', () => {
  it('replays the first answer for the same key and body, even with keys reordered', async () => {
    const e = anEvent({ subscriptionId: sub });
    const first = await post({ events: [e] }, 'k-1');
    expect(first.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const again = await post(JSON.stringify({ events: [Object.fromEntries(Object.entries(e).reverse())] }), 'k-1');
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // Without the key the second call would have counted a duplicate.
    expect(again.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });

  it('refuses the same key with another body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    await post({ events: [anEvent({ subscriptionId: sub })] }, 'k-2');
    const res = await post({ events: [anEvent({ subscriptionId: sub })] }, 'k-2');
    expect([res.status, res.body.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  it('scopes keys to the caller', async () => {
    const e = anEvent({ subscriptionId: sub });
    await post({ events: [e] }, 'k-3', 'alice');
    const bob = await post({ events: [e] }, 'k-3', 'bob');
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
    expect(bob.body).toMatchObject({ accepted: 0, duplicates: 1 });
  });

  it('releases the key when the request is refused, so the corrected request can use it', async () => {
    const bad = await call('PUT', `/v1/subscriptions/${uniqueId('s')}`, { body: aSubscription({ currency: 'ZZZ' }), headers: { 'idempotency-key': 'k-4' } });
    expect(bad.status).toBe(400);
    const grant = await call('POST', `/v1/subscriptions/nobody/balances/MINUTES/grants`, { body: { amount: '1' }, headers: { 'idempotency-key': 'k-5' } });
    expect(grant.status).toBe(404);
    const fixed = await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '1' }, headers: { 'idempotency-key': 'k-5' } });
    expect(fixed.status).toBe(201);
  });

  it('refuses a malformed key', async () => {
    const res = await post({ events: [anEvent({ subscriptionId: sub })] }, 'has space');
    expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
