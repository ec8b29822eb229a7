// Adding by criteria that name subscriptions holds each partition whole, by selection: a claim and
// a selection item, no write to any event, and still one batch per event under races. Lock fixes
// the members, submit rates them once and lets the claim go; on the real ASL in the local runner.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { checkClaims, checkHolds } from '../../shared/store/invariants';
import { keys } from '../../shared/store/keys';
import { listSelections } from '../../shared/store/selections';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId, voiceAndData } from '../support/builders';
import { act, useLocalWorkflows } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

/** A subscription with two registers and `perRegister` events in each, one a day from March 1st. */
async function subscriptionWith(perRegister: number) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, {
    body: aSubscription({ products: voiceAndData }),
  });
  const events = ['voice', 'data'].flatMap((productId) =>
    Array.from({ length: perRegister }, (_, i) =>
      anEvent({
        subscriptionId: sub,
        productId,
        quantity: '10',
        occurredAt: `2026-03-${String(i + 1).padStart(2, '0')}T10:00:00Z`,
      }),
    ),
  );
  expect((await call('POST', '/v1/usage-events', { body: { events } })).body.accepted).toBe(events.length);
  return { sub, ids: events.map((e) => e.eventId as string), events };
}

const newBatch = async (type: string) => (await call('POST', '/v1/batches', { body: { type } })).body.batchId as string;

const addCriteria = async (batchId: string, criteria: Record<string, unknown>) => {
  const res = await call('POST', `/v1/batches/${batchId}/events`, { body: { criteria } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    added: number;
    matched: number;
    rejected: Array<{ eventId: string; code: string; message?: string }>;
  };
};

const addIds = async (batchId: string, eventIds: string[]) =>
  (await call('POST', `/v1/batches/${batchId}/events`, { body: { eventIds } })).body as {
    added: number;
    rejected: Array<{ eventId: string; code: string; message?: string }>;
  };

const members = async (batchId: string) => {
  const items: Array<{ eventId: string; role: string; state: string; relatedReason?: string }> = [];
  let cursor: string | undefined;
  do {
    const res = await call('GET', `/v1/batches/${batchId}/members?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
};

const event = async (eventId: string) =>
  (await clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: keys.event(eventId) }))).Item!;

const claim = async (sub: string, register: string) =>
  (
    await clients.dynamo.send(
      new GetCommand({ TableName: clients.tableName, Key: keys.partitionClaim(sub, register), ConsistentRead: true }),
    )
  ).Item;

const batchCounts = async (batchId: string) => (await call('GET', `/v1/batches/${batchId}`)).body.counts;

const noViolations = async () => expect([...(await checkHolds()), ...(await checkClaims())]).toEqual([]);

describe('an add by criteria naming subscriptions', () => {
  it('holds each partition with one claim and one selection, writing no event, and lists the events as members', async () => {
    const { sub, ids } = await subscriptionWith(4);
    const batchId = await newBatch('RATING');
    const res = await addCriteria(batchId, { subscriptionIds: [sub] });
    expect(res).toMatchObject({ added: 8, matched: 8, rejected: [] });
    for (const id of ids) {
      const e = await event(id);
      expect(e.heldBy).toBeUndefined();
      expect(e.touchedBy).toBeUndefined();
    }
    expect((await claim(sub, 'MINUTES'))?.selectedBy).toBe(batchId);
    expect((await claim(sub, 'DATA_MB'))?.selectedBy).toBe(batchId);
    expect((await listSelections(batchId)).map((s) => s.register).sort()).toEqual(['DATA_MB', 'MINUTES']);
    const listed = await members(batchId);
    expect(listed.map((m) => m.eventId).sort()).toEqual([...ids].sort());
    expect(new Set(listed.map((m) => `${m.role}/${m.state}`))).toEqual(new Set(['MEMBER/HELD']));
    expect((await batchCounts(batchId)).events).toBe(8);
    // The same criteria again select nothing new.
    expect(await addCriteria(batchId, { subscriptionIds: [sub] })).toMatchObject({ added: 0, matched: 8 });
    expect((await batchCounts(batchId)).events).toBe(8);
    await noViolations();
  });

  it('refuses any other batch an event of a selected partition, by id or by criteria, naming the selecting batch', async () => {
    const { sub, ids } = await subscriptionWith(3);
    const selecting = await newBatch('RATING');
    expect((await addCriteria(selecting, { subscriptionIds: [sub], productId: 'voice' })).added).toBe(3);
    const other = await newBatch('RATING');
    const byId = await addIds(other, [ids[1]!, ids[4]!]);
    // The voice event is in the selected partition; the data event is not selected by anyone.
    expect(byId.added).toBe(1);
    expect(byId.rejected).toEqual([
      expect.objectContaining({
        eventId: ids[1],
        code: 'EVENT_HELD_BY_OTHER_BATCH',
        message: expect.stringContaining(selecting),
      }),
    ]);
    const third = await newBatch('RATING');
    const byCriteria = await addCriteria(third, { subscriptionIds: [sub] });
    expect(byCriteria.added).toBe(2);
    expect(byCriteria.rejected.map((r) => r.eventId).sort()).toEqual([...ids.slice(0, 3), ids[4]].sort());
    expect(new Set(byCriteria.rejected.map((r) => r.code))).toEqual(new Set(['EVENT_HELD_BY_OTHER_BATCH']));
    // The data partition has an event another batch holds by id: it is held event by event there.
    expect((await claim(sub, 'DATA_MB'))?.selectedBy).toBeUndefined();
    expect((await event(ids[5]!)).heldBy).toBe(third);
    await noViolations();
  });

  it('locks and submits: every selected event rated once, named by the batch, the claim let go and the record kept', async () => {
    const { sub, ids } = await subscriptionWith(3);
    const batchId = await newBatch('RATING');
    expect((await addCriteria(batchId, { subscriptionIds: [sub] })).added).toBe(6);
    // Ingested after the add, inside what the criteria name: the selection takes it at lock.
    const late = anEvent({
      subscriptionId: sub,
      productId: 'voice',
      quantity: '10',
      occurredAt: '2026-03-20T10:00:00Z',
    });
    expect((await call('POST', '/v1/usage-events', { body: { events: [late] } })).body.accepted).toBe(1);
    const locked = await act(batchId, 'lock', ['LOCKED']);
    expect(locked.counts).toMatchObject({ events: 7, related: 0, errored: 0 });
    expect((await members(batchId)).length).toBe(7);
    const done = await act(batchId, 'submit', FINISHED);
    expect(done.status).toBe('COMPLETED');
    expect(done.counts).toMatchObject({ events: 7, processed: 7, errored: 0 });
    for (const id of [...ids, late.eventId as string]) {
      const e = await event(id);
      expect(e.status).toBe('RATED');
      expect(e.ratingRev).toBe(1n);
      expect(e.heldBy).toBeUndefined();
      expect([...(e.touchedBy as Set<string>)]).toEqual([batchId]);
    }
    expect(await claim(sub, 'MINUTES')).toBeUndefined();
    expect((await listSelections(batchId)).length).toBe(2);
    const after = await members(batchId);
    expect(after.length).toBe(7);
    expect(new Set(after.map((m) => m.state))).toEqual(new Set(['PROCESSED']));
    const lineage = (await call('GET', `/v1/usage-events/${ids[0]}/lineage`)).body;
    expect(lineage.events[0].batches).toEqual([expect.objectContaining({ batchId, role: 'MEMBER' })]);
    // The partition is free again.
    const next = await newBatch('RERATE');
    expect((await addIds(next, [ids[0]!])).added).toBe(1);
    await noViolations();
  });

  it('re-rates the later events of a selected partition with it, as related, without holding them', async () => {
    const { sub, ids } = await subscriptionWith(4);
    const rating = await newBatch('RATING');
    await addCriteria(rating, { subscriptionIds: [sub] });
    expect((await act(rating, 'lock', ['LOCKED'])).counts.errored).toBe(0);
    expect((await act(rating, 'submit', FINISHED)).status).toBe('COMPLETED');
    // A new price, so the re-rating changes every event it rates.
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: { ...voiceAndData, voice: { register: 'MINUTES', unitPrice: '0.07' } } }),
    });
    const rerate = await newBatch('RERATE');
    // The first two days of voice: the two later voice events are re-rated with them.
    expect(
      (await addCriteria(rerate, { subscriptionIds: [sub], productId: 'voice', to: '2026-03-03T00:00:00Z' })).added,
    ).toBe(2);
    const locked = await act(rerate, 'lock', ['LOCKED']);
    expect(locked.counts).toMatchObject({ events: 2, related: 2, errored: 0 });
    const listed = await members(rerate);
    expect(
      listed
        .filter((m) => m.role === 'RELATED')
        .map((m) => m.eventId)
        .sort(),
    ).toEqual([ids[2], ids[3]].sort());
    expect(listed.find((m) => m.role === 'RELATED')?.relatedReason).toBe('LATER_IN_PARTITION');
    for (const id of ids.slice(0, 4)) expect((await event(id)).heldBy).toBeUndefined();
    // Related events of a selected partition are the batch's too: no other batch takes them.
    const other = await newBatch('RERATE');
    expect((await addIds(other, [ids[3]!])).rejected[0]?.code).toBe('EVENT_HELD_BY_OTHER_BATCH');
    expect((await act(rerate, 'submit', FINISHED)).status).toBe('COMPLETED');
    for (const id of ids.slice(0, 4)) {
      const e = await event(id);
      expect(e.ratingRev).toBe(2n);
      expect([...(e.touchedBy as Set<string>)].sort()).toEqual([rating, rerate].sort());
    }
    await noViolations();
  });

  it('removes some selected events by excluding them, and all of them by letting the partition go', async () => {
    const { sub, ids } = await subscriptionWith(3);
    const batchId = await newBatch('RATING');
    await addCriteria(batchId, { subscriptionIds: [sub] });
    const some = await call('POST', `/v1/batches/${batchId}/events/remove`, {
      body: { mode: 'BY_RULE', rule: { eventIds: [ids[0]] } },
    });
    expect(some.status, JSON.stringify(some.body)).toBe(200);
    expect(some.body.removed).toBe(1);
    expect((await members(batchId)).map((m) => m.eventId)).not.toContain(ids[0]);
    expect((await batchCounts(batchId)).events).toBe(5);
    // The excluded event is the partition's still: another batch cannot take it while the claim stands.
    const other = await newBatch('RATING');
    expect((await addIds(other, [ids[0]!])).rejected[0]?.code).toBe('EVENT_HELD_BY_OTHER_BATCH');
    const voice = await call('POST', `/v1/batches/${batchId}/events/remove`, {
      body: { mode: 'BY_RULE', rule: { eventIds: [ids[1], ids[2]] } },
    });
    expect(voice.body.removed).toBe(2);
    expect(await claim(sub, 'MINUTES')).toBeUndefined();
    expect((await addIds(other, [ids[0]!])).added).toBe(1);
    const all = await call('POST', `/v1/batches/${batchId}/events/remove`, { body: { mode: 'ALL' } });
    expect(all.body.removed).toBe(3);
    expect(await claim(sub, 'DATA_MB')).toBeUndefined();
    expect(await members(batchId)).toEqual([]);
    expect((await batchCounts(batchId)).events).toBe(0);
    await noViolations();
  });

  it('lets the claims go when a draft is cancelled, keeps them through a revert and resolves again at the next lock', async () => {
    const { sub } = await subscriptionWith(2);
    const reverted = await newBatch('RATING');
    await addCriteria(reverted, { subscriptionIds: [sub], productId: 'voice' });
    expect((await act(reverted, 'lock', ['LOCKED'])).counts.events).toBe(2);
    const back = await act(reverted, 'revert', ['DRAFT']);
    expect(back.counts.events).toBe(2);
    expect((await claim(sub, 'MINUTES'))?.selectedBy).toBe(reverted);
    expect((await members(reverted)).length).toBe(2);
    expect((await act(reverted, 'lock', ['LOCKED'])).counts.events).toBe(2);
    const cancelled = await newBatch('RATING');
    await addCriteria(cancelled, { subscriptionIds: [sub], productId: 'data' });
    expect((await claim(sub, 'DATA_MB'))?.selectedBy).toBe(cancelled);
    const res = await call('POST', `/v1/batches/${cancelled}/cancel`);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    expect(await claim(sub, 'DATA_MB')).toBeUndefined();
    expect(await listSelections(cancelled)).toEqual([]);
    await noViolations();
  });

  it('keeps every event in one batch when adds by id and by criteria race for a partition', async () => {
    for (let round = 0; round < 4; round++) {
      const { sub, ids } = await subscriptionWith(6);
      const [byCriteria, byId] = [await newBatch('RATING'), await newBatch('RATING')];
      const [c, i] = await Promise.all([
        addCriteria(byCriteria, { subscriptionIds: [sub] }),
        addIds(byId, [ids[round]!, ids[6 + round]!]),
      ]);
      // Every event is answered once overall: added by exactly one batch, or refused.
      expect(c.added + i.added).toBe(12);
      const holders = new Map<string, string>();
      for (const m of await members(byCriteria)) holders.set(m.eventId, byCriteria);
      for (const m of await members(byId)) {
        expect(holders.get(m.eventId), `event ${m.eventId} in both batches`).toBeUndefined();
        holders.set(m.eventId, byId);
      }
      expect(holders.size).toBe(12);
      await noViolations();
    }
  });
});
