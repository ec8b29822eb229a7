// Undo of a completed batch on the real ASL in the local runner: after each batch type, every
// register, grant, bill line and event the batch touched is back to what it was before it ran.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import type { LocalStack } from '../../infra/local/stack';
import { act, useLocalWorkflows, waitForStatus } from '../support/workflows';
import { getEvents } from '../../shared/store/usage-events';
import type { UsageEvent } from '../../shared/domain/usage-event';
import { checkSubscription } from '../../shared/store/invariants';
import { requireSubscription } from '../../shared/store/subscriptions';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

async function newBatch(type: string, body: Record<string, unknown>, options: Record<string, unknown> = {}) {
  const batchId = (await call('POST', '/v1/batches', { body: { type, options } })).body.batchId as string;
  const path = 'replacements' in body ? 'replacements' : 'events';
  expect((await call('POST', `/v1/batches/${batchId}/${path}`, { body })).body.rejected).toEqual([]);
  return batchId;
}

async function run(batchId: string) {
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
}

async function undo(batchId: string, body: Record<string, unknown> = {}) {
  const res = await call('POST', `/v1/batches/${batchId}/undo`, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { batchId: string; type: string; undoes: string; counts: { events: number } };
}

/** Versions, counters and times move with any write; what the books hold is compared. */
const VOLATILE = new Set(['version', 'updatedAt', 'entries', 'ratedAt', 'createdAt', 'lastEntryAt']);
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !VOLATILE.has(k))
        .map(([k, x]) => [k, normalize(x)]),
    );
  return v;
}

const eventState = (e: UsageEvent) => normalize({ status: e.status, rating: e.rating ?? null });

/** Every balance (registers and grants), bill line and event status/rating of a subscription's events. */
async function books(sub: string, eventIds: readonly string[]) {
  const [balances, lines, events] = await Promise.all([
    call('GET', `/v1/subscriptions/${sub}/balances`),
    call('GET', `/v1/subscriptions/${sub}/bill-lines`),
    getEvents(eventIds),
  ]);
  expect([balances.status, lines.status]).toEqual([200, 200]);
  return {
    balances: normalize(balances.body),
    billLines: normalize(lines.body),
    events: Object.fromEntries(events.map((e) => [e.eventId, e])),
  };
}

/** A subscription with a 50-minute allowance and two March events rated (A 30, B 40). */
async function ratedSubscription() {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  expect(
    (await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, { body: { amount: '50' } })).status,
  ).toBe(201);
  const a = anEvent({ subscriptionId: sub, quantity: '30', occurredAt: '2026-03-02T10:00:00Z' });
  const b = anEvent({ subscriptionId: sub, quantity: '40', occurredAt: '2026-03-03T10:00:00Z' });
  expect((await call('POST', '/v1/usage-events', { body: { events: [a, b] } })).body.accepted).toBe(2);
  const ids = [a.eventId as string, b.eventId as string];
  await run(await newBatch('RATING', { eventIds: ids }));
  return { sub, ids };
}

/** Runs the batch, undoes it, and proves the books are item by item what they were before it ran. */
async function runAndUndo(sub: string, ids: readonly string[], batchId: string) {
  const before = await books(sub, ids);
  await run(batchId);
  const during = await books(sub, ids);
  expect(during).not.toEqual(before);
  const u = await undo(batchId);
  expect(u).toMatchObject({ type: 'UNDO', undoes: batchId });
  expect((await call('GET', `/v1/batches/${batchId}`)).body.undoneBy).toBe(u.batchId);
  await run(u.batchId);
  const after = await books(sub, ids);
  expect(after.balances).toEqual(before.balances);
  expect(after.billLines).toEqual(before.billLines);
  return { before, after, undoId: u.batchId };
}

describe('POST /v1/batches/{batchId}/undo', () => {
  it('after a RATING batch: its events are LOADED again, the later events it re-rated get back their ratings, balances and bill lines are as before', async () => {
    const { sub, ids } = await ratedSubscription();
    // An earlier event rated now takes the allowance first: A and B are re-rated by the same batch.
    const early = anEvent({ subscriptionId: sub, quantity: '20', occurredAt: '2026-03-01T10:00:00Z' });
    await call('POST', '/v1/usage-events', { body: { events: [early] } });
    const all = [early.eventId as string, ...ids];
    const rating = await newBatch('RATING', { eventIds: [early.eventId] });
    const { before, after } = await runAndUndo(sub, all, rating);
    expect(after.events[early.eventId as string]!.status).toBe('LOADED');
    for (const id of all) expect(eventState(after.events[id]!)).toEqual(eventState(before.events[id]!));
    // New history: each event's revision moved on.
    expect(after.events[ids[1]!]!.ratingRev).toBeGreaterThan(before.events[ids[1]!]!.ratingRev);
  });

  it('after a RERATE batch (a price change): every event gets back the rating it had, balances and bill lines as before', async () => {
    const { sub, ids } = await ratedSubscription();
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.07' } } }),
    });
    const rerate = await newBatch('RERATE', { eventIds: ids });
    const { before, after } = await runAndUndo(sub, ids, rerate);
    for (const id of ids) expect(eventState(after.events[id]!)).toEqual(eventState(before.events[id]!));
  });

  it('after a REVERSE_REPLACE batch: its replacements are reversed and each reversed original comes back as a new event restoring it, with the rating it had', async () => {
    const { sub, ids } = await ratedSubscription();
    const [a, b] = ids as [string, string];
    const replacement = anEvent({ subscriptionId: sub, quantity: '10', occurredAt: '2026-03-02T10:00:00Z' });
    const rr = await newBatch('REVERSE_REPLACE', { replacements: [{ originalEventId: a, events: [replacement] }] });
    const { before, after, undoId } = await runAndUndo(sub, [a, b, replacement.eventId as string], rr);
    // B was re-rated by the batch (A's allowance moved) and is back as it was.
    expect(eventState(after.events[b]!)).toEqual(eventState(before.events[b]!));
    expect(after.events[replacement.eventId as string]).toMatchObject({ status: 'REVERSED', reversedBy: undoId });
    // A stays reversed (history); a new event restores it.
    expect(after.events[a]!.status).toBe('REVERSED');
    const restoredId = after.events[a]!.replacedBy!.find((id) => id !== replacement.eventId)!;
    const [restored] = await getEvents([restoredId]);
    expect(restored).toMatchObject({
      restores: a,
      replaces: a,
      insertedByBatch: undoId,
      quantity: before.events[a]!.quantity,
    });
    expect(eventState(restored!)).toEqual(eventState(before.events[a]!));
    expect((await call('GET', `/v1/usage-events/${restoredId}`)).body.lineage).toMatchObject({ restores: a });
  });

  it('after an undo that applied one subscription and was refused the other, a new undo finishes the rest and leaves the applied one as it is', async () => {
    const one = await ratedSubscription();
    const two = await ratedSubscription();
    const cheaper = aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.07' } } });
    for (const sub of [one.sub, two.sub]) await call('PUT', `/v1/subscriptions/${sub}`, { body: cheaper });
    const before = { one: await books(one.sub, one.ids), two: await books(two.sub, two.ids) };
    const rerate = await newBatch('RERATE', { eventIds: [...one.ids, ...two.ids] });
    await run(rerate);

    const first = await undo(rerate);
    await act(first.batchId, 'lock', ['LOCKED']);
    // A top-up on the second subscription after lock: submit applies the first subscription only.
    const topUp = await call('POST', `/v1/subscriptions/${two.sub}/balances/MINUTES/grants`, { body: { amount: '5' } });
    expect(topUp.status).toBe(201);
    expect((await act(first.batchId, 'submit', FINISHED)).status).toBe('COMPLETED_WITH_ERRORS');
    const oneUndone = await books(one.sub, one.ids);
    expect(oneUndone.balances).toEqual(before.one.balances);

    const second = await undo(rerate);
    expect(second.counts.events).toBe(two.ids.length);
    expect((await call('GET', `/v1/batches/${rerate}`)).body.undoneBy).toBe(second.batchId);
    await run(second.batchId);
    const twoAfter = await books(two.sub, two.ids);
    for (const id of two.ids) expect(eventState(twoAfter.events[id]!)).toEqual(eventState(before.two.events[id]!));
    // The first subscription is exactly as the first undo left it: nothing applied twice.
    expect(await books(one.sub, one.ids)).toEqual(oneUndone);
    // Asked once more: nothing is left to undo.
    const again = await call('POST', `/v1/batches/${rerate}/undo`, { body: {} });
    expect([again.status, again.body.code]).toEqual([409, 'BATCH_ALREADY_UNDONE']);
  });

  it('is refused EVENTS_CHANGED_SINCE when a later batch changed the same events, and the refused undo leaves nothing', async () => {
    const { sub, ids } = await ratedSubscription();
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.07' } } }),
    });
    const rerate = await newBatch('RERATE', { eventIds: ids });
    await run(rerate);
    const first = (await getEvents(ids)).flatMap((e) => e.touchedBy ?? []);
    const ratingId = first.find((id) => id !== rerate)!;
    const res = await call('POST', `/v1/batches/${ratingId}/undo`, { body: {} });
    expect([res.status, res.body.code]).toEqual([409, 'EVENTS_CHANGED_SINCE']);
    expect((await call('GET', `/v1/batches/${ratingId}`)).body.undoneBy).toBeUndefined();
    // The later batch itself can be undone.
    expect((await undo(rerate)).undoes).toBe(rerate);
  });

  it('is refused BATCH_NOT_UNDOABLE for a batch not COMPLETED, answers the same DRAFT undo when asked again, and is refused BATCH_ALREADY_UNDONE once that undo is locked or done (a cancelled one gives way)', async () => {
    const { sub, ids } = await ratedSubscription();
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.07' } } }),
    });
    const rerate = await newBatch('RERATE', { eventIds: ids });
    const draftRes = await call('POST', `/v1/batches/${rerate}/undo`, { body: {} });
    expect([draftRes.status, draftRes.body.code]).toEqual([409, 'BATCH_NOT_UNDOABLE']);
    await run(rerate);
    const u = await undo(rerate);
    // Asked again while the undo is a DRAFT: the same undo (a request that stopped midway is finished).
    expect((await undo(rerate)).batchId).toBe(u.batchId);
    expect((await call('GET', `/v1/batches/${u.batchId}`)).body.counts.events).toBe(2);
    await act(u.batchId, 'lock', ['LOCKED']);
    const twice = await call('POST', `/v1/batches/${rerate}/undo`, { body: {} });
    expect([twice.status, twice.body.code]).toEqual([409, 'BATCH_ALREADY_UNDONE']);
    // A cancelled undo changed nothing: another takes its place.
    expect((await call('POST', `/v1/batches/${u.batchId}/cancel`)).status).toBe(202);
    await waitForStatus(u.batchId, ['CANCELLED']);
    const again = await undo(rerate);
    expect(again.batchId).not.toBe(u.batchId);
    await run(again.batchId);
    const done = await call('POST', `/v1/batches/${rerate}/undo`, { body: {} });
    expect([done.status, done.body.code]).toEqual([409, 'BATCH_ALREADY_UNDONE']);
  });

  it('follows the AR rules like any batch: refused AR_INTERFACED under REJECT once the line is interfaced; under CREDIT_REBILL the line stays and a credit and a rebill restore the charge in the next open period', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const events = ['10', '20'].map((q, i) =>
      anEvent({ subscriptionId: sub, quantity: q, occurredAt: `2026-03-0${i + 1}T10:00:00Z` }),
    );
    await call('POST', '/v1/usage-events', { body: { events } });
    const ids = events.map((e) => e.eventId as string);
    await run(await newBatch('RATING', { eventIds: ids }));
    const before = await books(sub, ids);
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.10' } } }),
    });
    const rerate = await newBatch('RERATE', { eventIds: ids });
    await run(rerate);
    for (const status of ['BILLED', 'INTERFACED'])
      await call('POST', `/v1/subscriptions/${sub}/bill-lines/2026-03/status`, { body: { status } });

    const rejected = await undo(rerate);
    const locked = await act(rejected.batchId, 'lock', ['LOCKED']);
    expect(locked.counts.errored).toBe(2);
    expect(
      (await call('GET', `/v1/batches/${rejected.batchId}/members?errorCode=AR_INTERFACED`)).body.items,
    ).toHaveLength(2);
    expect((await call('POST', `/v1/batches/${rejected.batchId}/cancel`)).status).toBe(202);
    await waitForStatus(rejected.batchId, ['CANCELLED']);

    const rebill = await undo(rerate, { options: { arPolicy: 'CREDIT_REBILL' } });
    await act(rebill.batchId, 'lock', ['LOCKED']);
    const preview = (await call('GET', `/v1/batches/${rebill.batchId}/preview`)).body.subscriptions[0];
    expect(preview.creditRebill).toEqual([
      { kind: 'CREDIT', amount: '-3.00', originalPeriod: '2026-03', period: '2026-04' },
      { kind: 'REBILL', amount: '1.50', originalPeriod: '2026-03', period: '2026-04' },
    ]);
    expect((await act(rebill.batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    const lines = (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items;
    expect(lines).toEqual([
      expect.objectContaining({ period: '2026-03', status: 'INTERFACED', usageAmount: '3.00', total: '3.00' }),
      expect.objectContaining({ period: '2026-04', status: 'OPEN', adjustments: '-1.50', total: '-1.50' }),
    ]);
    const after = await books(sub, ids);
    for (const id of ids) expect(eventState(after.events[id]!)).toEqual(eventState(before.events[id]!));
    expect(after.balances).toEqual(before.balances);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it('needs approval like any batch: the undo of a batch that asked for it asks too, its locker is refused SAME_ACTOR and another submits the preview they approve', async () => {
    const { sub, ids } = await ratedSubscription();
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.07' } } }),
    });
    const rerate = await newBatch('RERATE', { eventIds: ids }, { requireApproval: true });
    await act(rerate, 'lock', ['LOCKED']);
    const tag = (await call('GET', `/v1/batches/${rerate}/preview`)).headers.etag as string;
    expect(
      (await call('POST', `/v1/batches/${rerate}/submit`, { actor: 'approver', headers: { 'if-match': tag } })).status,
    ).toBe(202);
    expect((await waitForStatus(rerate, FINISHED)).status).toBe('COMPLETED');

    const u = await undo(rerate);
    expect(u).toMatchObject({ options: { requireApproval: true } });
    await act(u.batchId, 'lock', ['LOCKED']);
    const refused = await call('POST', `/v1/batches/${u.batchId}/submit`);
    expect([refused.status, refused.body.code]).toEqual([403, 'SAME_ACTOR']);
    const undoTag = (await call('GET', `/v1/batches/${u.batchId}/preview`)).headers.etag as string;
    const approved = await call('POST', `/v1/batches/${u.batchId}/submit`, {
      actor: 'approver',
      headers: { 'if-match': undoTag },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(202);
    expect((await waitForStatus(u.batchId, FINISHED)).status).toBe('COMPLETED');
  });
});
