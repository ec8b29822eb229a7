// Rules applied at lock, and what submit then writes, on the real ASL in the local runner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId, voiceAndData } from '../support/builders';
import type { LocalStack } from '../../infra/local/stack';
import { act, useLocalWorkflows, waitForStatus } from '../support/workflows';
import { checkSubscription } from '../../shared/store/invariants';
import { listBillAdjustments } from '../../shared/store/bill-lines';
import { requireSubscription } from '../../shared/store/subscriptions';
import { getEvent, getEvents } from '../../shared/store/usage-events';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

/** A subscription with rated events in March (bill line 1.50 at 0.05/min, no allowance). */
async function ratedSubscription(quantities: string[], extra: Record<string, unknown>[] = []) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  const events = quantities.map((q, i) =>
    anEvent({ subscriptionId: sub, quantity: q, occurredAt: `2026-03-0${i + 1}T10:00:00Z`, ...extra[i] }),
  );
  expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(events.length);
  const ids = events.map((e) => e.eventId as string);
  const rating = await newBatch('RATING', { eventIds: ids });
  expect((await act(rating, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  await act(rating, 'submit', FINISHED);
  return { sub, ids };
}

async function newBatch(type: string, body: Record<string, unknown>, options: Record<string, unknown> = {}) {
  const batchId = (await call('POST', '/v1/batches', { body: { type, options } })).body.batchId as string;
  const path = 'replacements' in body ? 'replacements' : 'events';
  expect((await call('POST', `/v1/batches/${batchId}/${path}`, { body })).body.rejected).toEqual([]);
  return batchId;
}

const interface_ = async (sub: string, period: string) => {
  for (const status of ['BILLED', 'INTERFACED']) {
    expect(
      (await call('POST', `/v1/subscriptions/${sub}/bill-lines/${period}/status`, { body: { status } })).status,
    ).toBe(200);
  }
};
const reprice = (sub: string, price: string) =>
  call('PUT', `/v1/subscriptions/${sub}`, {
    body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: price } } }),
  });

describe('an interfaced bill line', () => {
  it('fails the partition AR_INTERFACED under REJECT; submit waits until the errors are removed by rule', async () => {
    const { sub, ids } = await ratedSubscription(['10', '20']);
    await interface_(sub, '2026-03');
    await reprice(sub, '0.10');
    const batchId = await newBatch('RERATE', { eventIds: ids });
    const locked = await act(batchId, 'lock', ['LOCKED']);
    expect(locked.counts).toMatchObject({ events: 2, errored: 2 });
    expect(locked.allowedActions).toEqual(['REMOVE_EVENTS', 'REVERT', 'CANCEL']);
    const errored = (await call('GET', `/v1/batches/${batchId}/members?errorCode=AR_INTERFACED`)).body.items;
    expect(errored.map((m: { eventId: string }) => m.eventId).sort()).toEqual([...ids].sort());
    const submit = await call('POST', `/v1/batches/${batchId}/submit`);
    expect([submit.status, submit.body.code]).toEqual([409, 'INVALID_TRANSITION']);
    const removed = await call('POST', `/v1/batches/${batchId}/events/remove`, {
      body: { mode: 'BY_RULE', rule: { errorCode: 'AR_INTERFACED' } },
    });
    expect(removed.body.removed).toBe(2);
    expect((await getEvents(ids)).every((e) => e.heldBy === undefined && e.rating!.unitPrice === 50_000n)).toBe(true);
    expect((await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items[0]).toMatchObject({
      status: 'INTERFACED',
      total: '1.50',
    });
  });

  it('under CREDIT_REBILL stays untouched; a credit and a rebill land in the next open period, linked to it', async () => {
    const { sub, ids } = await ratedSubscription(['10', '20']);
    await interface_(sub, '2026-03');
    await reprice(sub, '0.10');
    const batchId = await newBatch('RERATE', { eventIds: ids }, { arPolicy: 'CREDIT_REBILL' });
    await act(batchId, 'lock', ['LOCKED']);
    const preview = (await call('GET', `/v1/batches/${batchId}/preview`)).body.subscriptions[0];
    expect(
      preview.billLines.map((l: any) => [
        l.period,
        l.status,
        l.before.total,
        l.after.total,
        l.creditRebillPeriod,
        l.correctedTotal,
      ]),
    ).toEqual([
      ['2026-03', 'INTERFACED', '1.50', '1.50', '2026-04', '3.00'],
      ['2026-04', 'OPEN', '0.00', '1.50', undefined, undefined],
    ]);
    expect(preview.creditRebill).toEqual([
      { kind: 'CREDIT', amount: '-1.50', originalPeriod: '2026-03', period: '2026-04' },
      { kind: 'REBILL', amount: '3.00', originalPeriod: '2026-03', period: '2026-04' },
    ]);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    const lines = (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items;
    expect(lines).toEqual([
      expect.objectContaining({ period: '2026-03', status: 'INTERFACED', usageAmount: '1.50', total: '1.50' }),
      expect.objectContaining({ period: '2026-04', status: 'OPEN', adjustments: '1.50', total: '1.50' }),
    ]);
    const adjustments = await listBillAdjustments(sub);
    expect(adjustments.map((a) => [a.kind, a.amount, a.originalPeriod, a.period]).sort()).toEqual([
      ['CREDIT', -150n, '2026-03', '2026-04'],
      ['REBILL', 300n, '2026-03', '2026-04'],
    ]);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it('refuses a credit/rebill of a period holding an excluded zero charge, but a credit-only reversal goes through', async () => {
    const { sub, ids } = await ratedSubscription(['10', '0']);
    expect((await getEvent(ids[1]!))!.status).toBe('EXCLUDED');
    await interface_(sub, '2026-03');
    const rebill = await newBatch(
      'REVERSE_REPLACE',
      {
        replacements: [
          {
            originalEventId: ids[0],
            events: [anEvent({ subscriptionId: sub, quantity: '5', occurredAt: '2026-03-01T10:00:00Z' })],
          },
        ],
      },
      { arPolicy: 'CREDIT_REBILL' },
    );
    const locked = await act(rebill, 'lock', ['LOCKED']);
    expect(locked.counts.errored).toBe(1);
    expect((await call('GET', `/v1/batches/${rebill}/members?errorCode=EXCLUDED_ZERO_CHARGE`)).body.items).toHaveLength(
      1,
    );
    await act(rebill, 'revert', ['DRAFT']);
    await call('POST', `/v1/batches/${rebill}/events/remove`, { body: { mode: 'ALL' } });

    const credit = await newBatch('REVERSE_REPLACE', { eventIds: [ids[0]] }, { creditOnly: true });
    expect((await act(credit, 'lock', ['LOCKED'])).counts.errored).toBe(0);
    expect((await act(credit, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect((await getEvent(ids[0]!))!.status).toBe('REVERSED');
    const lines = (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items;
    expect(lines[0]).toMatchObject({ period: '2026-03', status: 'INTERFACED', total: '0.50' });
    expect(lines[1]).toMatchObject({ period: '2026-04', adjustments: '-0.50' });
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});

describe('parents and children', () => {
  it('reversing a parent reverses its children; replacement children attach to the replacement parent', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: voiceAndData }),
    });
    const parent = anEvent({ subscriptionId: sub, quantity: '10' });
    const child = anEvent({ subscriptionId: sub, productId: 'data', quantity: '100', parentEventId: parent.eventId });
    await call('POST', '/v1/usage-events', { body: { events: [parent, child] } });
    const rating = await newBatch('RATING', { eventIds: [parent.eventId] });
    expect((await act(rating, 'lock', ['LOCKED'])).counts.events).toBe(2); // the child came with its parent
    await act(rating, 'submit', FINISHED);

    const parentFix = anEvent({ subscriptionId: sub, quantity: '8', eventId: `${parent.eventId}-fix` });
    const childFix = anEvent({
      subscriptionId: sub,
      productId: 'data',
      quantity: '90',
      eventId: `${child.eventId}-fix`,
      parentEventId: parent.eventId,
    });
    const fix = await newBatch('REVERSE_REPLACE', {
      replacements: [{ originalEventId: parent.eventId, events: [parentFix, childFix] }],
    });
    await act(fix, 'lock', ['LOCKED']);
    expect((await act(fix, 'submit', FINISHED)).status).toBe('COMPLETED');
    const [p, c, pf, cf] = await Promise.all(
      [parent, child, parentFix, childFix].map((e) => call('GET', `/v1/usage-events/${e.eventId}`)),
    );
    expect([p!.body.status, c!.body.status]).toEqual(['REVERSED', 'REVERSED']);
    expect(pf!.body).toMatchObject({
      status: 'RATED',
      lineage: { replaces: parent.eventId, childEventIds: [childFix.eventId] },
    });
    expect(cf!.body).toMatchObject({ status: 'RATED', lineage: { parentEventId: parentFix.eventId } });
    expect((await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items[0]).toMatchObject({
      usageAmount: '1.30',
    }); // 8 × 0.05 + 90 × 0.01
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});

describe('revert for edit', () => {
  it('releases related events and the preview, keeps the members held, and edits work again', async () => {
    const { sub, ids } = await ratedSubscription(['10', '20', '30']);
    const batchId = await newBatch('REVERSE_REPLACE', { eventIds: [ids[0]] });
    expect((await act(batchId, 'lock', ['LOCKED'])).counts.related).toBe(2);
    expect((await getEvents(ids)).map((e) => e.heldBy)).toEqual([batchId, batchId, batchId]);
    const reverted = await act(batchId, 'revert', ['DRAFT']);
    expect(reverted).toMatchObject({
      counts: { events: 1, related: 0, errored: 0 },
      allowedActions: ['ADD_EVENTS', 'ADD_REPLACEMENTS', 'REMOVE_EVENTS', 'LOCK', 'CANCEL'],
    });
    const held = new Map((await getEvents(ids)).map((e) => [e.eventId, e.heldBy]));
    expect([held.get(ids[0]!), held.get(ids[1]!), held.get(ids[2]!)]).toEqual([batchId, undefined, undefined]);
    expect((await call('GET', `/v1/batches/${batchId}/preview`)).body.code).toBe('INVALID_TRANSITION');
    expect((await call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds: [ids[1]] } })).body.added).toBe(1);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});

describe('a later event of the partition held by another open batch', () => {
  it('errors the partition EVENT_HELD_BY_OTHER_BATCH at lock; the later events it could hold are let go, and the other batch keeps its event', async () => {
    const { ids } = await ratedSubscription(['10', '20', '30', '40']);
    // Batch A holds the third event; batch B re-rates the first, so every later event is related.
    const a = await newBatch('RERATE', { eventIds: [ids[2]!] });
    const b = await newBatch('RERATE', { eventIds: [ids[0]!] });
    const locked = await act(b, 'lock', ['LOCKED']);
    expect(locked.counts).toMatchObject({ events: 1, errored: 1, related: 0 });
    const errored = (await call('GET', `/v1/batches/${b}/members?errorCode=EVENT_HELD_BY_OTHER_BATCH`)).body.items;
    expect(errored.map((m: { eventId: string }) => m.eventId)).toEqual([ids[0]]);
    const held = new Map((await getEvents(ids)).map((e) => [e.eventId, e.heldBy]));
    expect([held.get(ids[0]!), held.get(ids[1]!), held.get(ids[2]!), held.get(ids[3]!)]).toEqual([
      b,
      undefined,
      a,
      undefined,
    ]);
    // Reverting B keeps it so; A still holds its event.
    await act(b, 'revert', ['DRAFT']);
    const after = new Map((await getEvents(ids)).map((e) => [e.eventId, e.heldBy]));
    expect([after.get(ids[1]!), after.get(ids[2]!), after.get(ids[3]!)]).toEqual([undefined, a, undefined]);
  });
});

describe('a batch whose only member is removed by rule', () => {
  it('reports no related event PROCESSED that nothing touched: the related events were let go when the member errored', async () => {
    const { ids } = await ratedSubscription(['10', '20', '30']);
    const a = await newBatch('RERATE', { eventIds: [ids[2]!] });
    const b = await newBatch('RERATE', { eventIds: [ids[0]!] });
    expect((await act(b, 'lock', ['LOCKED'])).counts).toMatchObject({ events: 1, errored: 1, related: 0 });
    const before = await getEvents([ids[1]!]);
    expect(
      (
        await call('POST', `/v1/batches/${b}/events/remove`, {
          body: { mode: 'BY_RULE', rule: { errorCode: 'EVENT_HELD_BY_OTHER_BATCH' } },
        })
      ).body.removed,
    ).toBe(1);
    const submit = await call('POST', `/v1/batches/${b}/submit`);
    // Whether an empty batch may still be submitted or not, nothing of it reads PROCESSED.
    if (submit.status === 202) await waitForStatus(b, FINISHED);
    const members = (await call('GET', `/v1/batches/${b}/members`)).body.items;
    expect(members.filter((m: { state: string }) => m.state === 'PROCESSED')).toEqual([]);
    const after = await getEvents([ids[1]!]);
    expect(after.map((e) => [e.ratingRev, e.heldBy])).toEqual(before.map((e) => [e.ratingRev, undefined]));
    expect((await getEvents([ids[2]!]))[0]!.heldBy).toBe(a);
  });
});
