// DESIGN.md §4's worked example, end to end: API → Step Functions (the real ASL, local runner)
// → task handlers → DynamoDB Local.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import type { LocalStack } from '../../infra/local/stack';
import { act, useLocalWorkflows } from '../support/workflows';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvents } from '../../shared/store/usage-events';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const sub = uniqueId('sub');
const e1 = anEvent({ subscriptionId: sub, quantity: '30', occurredAt: '2026-03-01T10:00:00Z' });
const e2 = anEvent({ subscriptionId: sub, quantity: '50', occurredAt: '2026-03-02T10:00:00Z' });
const e3 = anEvent({ subscriptionId: sub, quantity: '40', occurredAt: '2026-03-03T10:00:00Z' });
const ids = [e1, e2, e3].map((e) => e.eventId as string);

async function batchWith(type: string, body: Record<string, unknown>, options: Record<string, unknown> = {}) {
  const batchId = (await call('POST', '/v1/batches', { body: { type, options } })).body.batchId as string;
  const path = 'replacements' in body ? 'replacements' : 'events';
  const added = await call('POST', `/v1/batches/${batchId}/${path}`, { body });
  expect(added.body.rejected).toEqual([]);
  return batchId;
}

const amounts = async () => {
  const events = new Map((await getEvents(ids)).map((e) => [e.eventId, e]));
  return ids.map((id) => events.get(id)!.rating?.amount);
};
const billLine = async () => (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items[0];
const invariantsHold = async () => expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);

describe('the worked example through batches and workflows', () => {
  it('RATING: 30, 50, 40 against 100 minutes → 0.00, 0.00, 1.00; the preview equals what submit writes', async () => {
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '100' } });
    expect((await call('POST', '/v1/usage-events', { body: { events: [e1, e2, e3] } })).body.accepted).toBe(3);
    const batchId = await batchWith('RATING', { eventIds: ids });
    const locked = await act(batchId, 'lock', ['LOCKED', 'DRAFT']);
    expect(locked).toMatchObject({
      status: 'LOCKED',
      counts: { events: 3, errored: 0 },
      allowedActions: ['REVERT', 'SUBMIT', 'CANCEL'],
    });
    const preview = (await call('GET', `/v1/batches/${batchId}/preview`)).body;
    expect(preview.partitions).toEqual([
      expect.objectContaining({ subscriptionId: sub, register: 'MINUTES', before: '100', after: '0' }),
    ]);
    expect(preview.subscriptions).toEqual([
      expect.objectContaining({
        subscriptionId: sub,
        chargeDelta: '1.00',
        billLines: [
          {
            period: '2026-03',
            status: 'OPEN',
            created: true,
            before: { usage: '0.00', trueUp: '0.00', adjustments: '0.00', total: '0.00' },
            after: { usage: '1.00', trueUp: '0.00', adjustments: '0.00', total: '1.00' },
            reinvoiceRequired: false,
          },
        ],
      }),
    ]);
    const members = (await call('GET', `/v1/batches/${batchId}/members`)).body.items;
    expect(members.every((m: { state: string }) => m.state === 'LOCKED')).toBe(true);

    const done = await act(batchId, 'submit', ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);
    expect(done).toMatchObject({
      status: 'COMPLETED',
      counts: { processed: 3, errored: 0 },
      progress: { done: 3, total: 3 },
    });
    expect(await amounts()).toEqual([0n, 0n, 100n]);
    expect(await billLine()).toMatchObject({
      period: '2026-03',
      usageAmount: '1.00',
      total: preview.subscriptions[0].billLines[0].after.total,
    });
    expect((await getEvents(ids)).every((e) => e.heldBy === undefined && e.status === 'RATED')).toBe(true);
    const log = (await call('GET', `/v1/batches/${batchId}/log`)).body.items.map((l: { action: string }) => l.action);
    expect(log).toEqual([
      'CREATE',
      'ADD_EVENTS',
      'LOCK',
      'LOCK_STARTED',
      'LOCKED',
      'SUBMIT',
      'SUBMIT_STARTED',
      'COMPLETED',
    ]);
    await invariantsHold();
  });

  it('RERATE after a top-up of 50: the third event uses 40 of allowance and the bill line falls to 0.00', async () => {
    await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '50' } });
    const batchId = await batchWith('RERATE', { eventIds: ids });
    await act(batchId, 'lock', ['LOCKED', 'DRAFT']);
    const preview = (await call('GET', `/v1/batches/${batchId}/preview`)).body;
    expect(preview.totals.chargeDelta).toEqual({ USD: '-1.00' });
    expect(preview.partitions[0]).toMatchObject({ before: '50', after: '30', changedEvents: 1 });
    await act(batchId, 'submit', ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);
    expect(await amounts()).toEqual([0n, 0n, 0n]);
    expect((await getEvents([ids[2]!]))[0]!.rating!.allowanceUsed).toBe(40_000_000n);
    expect(await billLine()).toMatchObject({ usageAmount: '0.00', total: '0.00' });
    await invariantsHold();
  });

  it('REVERSE_REPLACE of the first event with 10 minutes: original reversed, replacement rated, later events re-rated as related', async () => {
    const fixId = `${ids[0]}-fix`;
    const batchId = await batchWith('REVERSE_REPLACE', {
      replacements: [
        {
          originalEventId: ids[0],
          events: [
            anEvent({ subscriptionId: sub, eventId: fixId, quantity: '10', occurredAt: '2026-03-01T10:00:00Z' }),
          ],
        },
      ],
    });
    const locked = await act(batchId, 'lock', ['LOCKED', 'DRAFT']);
    expect(locked.counts).toMatchObject({ events: 1, related: 2, errored: 0 });
    const related = (await call('GET', `/v1/batches/${batchId}/members`)).body.items.filter(
      (m: { role: string }) => m.role === 'RELATED',
    );
    expect(related.map((m: { eventId: string; relatedReason: string }) => [m.eventId, m.relatedReason]).sort()).toEqual(
      [
        [ids[1], 'LATER_IN_PARTITION'],
        [ids[2], 'LATER_IN_PARTITION'],
      ].sort(),
    );
    const preview = (await call('GET', `/v1/batches/${batchId}/preview`)).body;
    expect(preview.partitions[0]).toMatchObject({
      before: '30',
      after: '50',
      reversed: 1,
      replacementsAdded: 1,
      relatedAdded: 2,
    });
    expect(preview.subscriptions[0]).toMatchObject({ chargeDelta: '0.00' });
    await act(batchId, 'submit', ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED']);

    const original = (await call('GET', `/v1/usage-events/${ids[0]}`)).body;
    expect(original).toMatchObject({
      status: 'REVERSED',
      rating: { allowanceUsed: '30' },
      lineage: { replacedBy: [fixId], reversedBy: batchId },
    });
    const fix = (await call('GET', `/v1/usage-events/${fixId}`)).body;
    expect(fix).toMatchObject({
      status: 'RATED',
      quantity: '10',
      rating: { allowanceUsed: '10', amount: '0.00' },
      lineage: { replaces: ids[0] },
    });
    const later = new Map((await getEvents(ids.slice(1))).map((e) => [e.eventId, e.rating!.allowanceUsed]));
    expect([later.get(ids[1]!), later.get(ids[2]!)]).toEqual([50_000_000n, 40_000_000n]);
    expect((await call('GET', `/v1/subscriptions/${sub}/balances`)).body.items[0]).toMatchObject({
      granted: '150',
      consumed: '100',
      available: '50',
    });
    expect((await getEvents([...ids, fixId])).every((e) => e.heldBy === undefined)).toBe(true);
    await invariantsHold();
  });
});
