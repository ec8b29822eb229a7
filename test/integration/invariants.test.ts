import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { useTestTable, type TestTable } from '../support/dynamo';
import { clients } from '../../shared/store/clients';
import { checkTable } from '../../shared/store/invariants';
import { keys } from '../../shared/store/keys';
import { ratePartitionFrom } from '../support/rate-directly';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('invariants');
});
afterAll(async () => table.drop());

describe('checkTable (npm run check-invariants)', () => {
  it('finds nothing wrong in a consistent table, then names each violation planted in it', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '20' } });
    const events = [
      anEvent({ subscriptionId: sub, quantity: '15' }),
      anEvent({ subscriptionId: sub, quantity: '15', occurredAt: '2026-03-02T10:00:00Z' }),
    ];
    await call('POST', '/v1/usage-events', { body: { events } });
    await ratePartitionFrom({
      subscriptionId: sub,
      register: 'MINUTES',
      toRate: events.map((e) => e.eventId as string),
      stepId: 's',
      actor: 't',
      now: new Date().toISOString(),
    });
    expect(await checkTable()).toEqual([]);

    // A register changed without its ledger entry, a bill line off by a cent, an orphaned hold.
    const update = (Key: Record<string, string>, expr: string, values: Record<string, unknown>) =>
      clients.dynamo.send(
        new UpdateCommand({
          TableName: clients.tableName,
          Key,
          UpdateExpression: expr,
          ExpressionAttributeValues: values,
        }),
      );
    await update(keys.register(sub, 'MINUTES'), 'ADD granted :x', { ':x': 1_000_000n });
    await update(keys.billLine(sub, '2026-03'), 'ADD usageAmount :x', { ':x': 1n });
    await update(keys.event(events[0]!.eventId as string), 'SET heldBy = :b', { ':b': 'no-such-batch' });
    // …and a batch named in an event's lineage without the membership behind it.
    await update(keys.event(events[1]!.eventId as string), 'ADD touchedBy :b', { ':b': new Set(['no-such-batch']) });
    const rules = (await checkTable()).map((v) => v.rule).sort();
    expect(rules).toEqual(
      expect.arrayContaining([
        'register-granted-equals-ledger',
        'bill-usage-equals-events',
        'held-by-existing-batch',
        'held-with-membership',
        'touched-with-membership',
      ]),
    );
  });
});
