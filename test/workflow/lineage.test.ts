// The whole lineage of an event in one call, after batches ran on the real ASL in the local runner.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId, voiceAndData } from '../support/builders';
import type { LocalStack } from '../../infra/local/stack';
import { act, useLocalWorkflows } from '../support/workflows';
import { clients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

const FINISHED = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];

async function newBatch(type: string, body: Record<string, unknown>) {
  const batchId = (await call('POST', '/v1/batches', { body: { type } })).body.batchId as string;
  const path = 'replacements' in body ? 'replacements' : 'events';
  expect((await call('POST', `/v1/batches/${batchId}/${path}`, { body })).body.rejected).toEqual([]);
  return batchId;
}

async function run(batchId: string) {
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
}

interface LineageEvent {
  eventId: string;
  status: string;
  generation: number;
  parentEventId?: string;
  childEventIds: string[];
  replaces?: string;
  replacedBy: string[];
  restores?: string;
  reversedBy?: string;
  batches: Array<{ batchId: string; type: string; role: string; status: string }>;
}

const lineage = async (eventId: string) => {
  const res = await call('GET', `/v1/usage-events/${eventId}/lineage`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    eventId: string;
    events: LineageEvent[];
    truncated: boolean;
    limits: { events: number; batchesPerEvent: number };
  };
};

describe('GET /v1/usage-events/{eventId}/lineage', () => {
  it('returns a three-generation chain (replace, then replace the replacement) in one answer, from any event of it, with every batch that touched each', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: voiceAndData }),
    });
    const p1 = anEvent({ subscriptionId: sub, quantity: '10' });
    const c1 = anEvent({ subscriptionId: sub, productId: 'data', quantity: '100', parentEventId: p1.eventId });
    expect((await call('POST', '/v1/usage-events', { body: { events: [p1, c1] } })).body.accepted).toBe(2);
    const rating = await newBatch('RATING', { eventIds: [p1.eventId] });
    await run(rating);

    // Generation 2 replaces the first; generation 3 replaces the replacement. Each child follows its
    // parent. (The undo generation is the next test.)
    const p2 = anEvent({ subscriptionId: sub, quantity: '8', eventId: `${p1.eventId}-g2` });
    const c2 = anEvent({
      subscriptionId: sub,
      productId: 'data',
      quantity: '90',
      eventId: `${c1.eventId}-g2`,
      parentEventId: p1.eventId,
    });
    const first = await newBatch('REVERSE_REPLACE', {
      replacements: [{ originalEventId: p1.eventId, events: [p2, c2] }],
    });
    await run(first);
    const p3 = anEvent({ subscriptionId: sub, quantity: '6', eventId: `${p1.eventId}-g3` });
    const c3 = anEvent({
      subscriptionId: sub,
      productId: 'data',
      quantity: '80',
      eventId: `${c1.eventId}-g3`,
      parentEventId: p2.eventId,
    });
    const second = await newBatch('REVERSE_REPLACE', {
      replacements: [{ originalEventId: p2.eventId, events: [p3, c3] }],
    });
    await run(second);

    const answer = await lineage(p2.eventId);
    expect(answer).toMatchObject({
      eventId: p2.eventId,
      truncated: false,
      limits: { events: 100, batchesPerEvent: 20 },
    });
    const byId = new Map(answer.events.map((e) => [e.eventId, e]));
    // Oldest generation first, a parent before its child.
    expect(answer.events.map((e) => [e.eventId, e.generation, e.status])).toEqual([
      [p1.eventId, -1, 'REVERSED'],
      [c1.eventId, -1, 'REVERSED'],
      [p2.eventId, 0, 'REVERSED'],
      [c2.eventId, 0, 'REVERSED'],
      [p3.eventId, 1, 'RATED'],
      [c3.eventId, 1, 'RATED'],
    ]);
    // A replacement names the original it was given for; a replacement child attaches to the replacement parent.
    expect(byId.get(p1.eventId)).toMatchObject({
      childEventIds: [c1.eventId],
      replacedBy: [p2.eventId, c2.eventId].sort(),
      reversedBy: first,
    });
    expect(byId.get(c1.eventId)).toMatchObject({ parentEventId: p1.eventId, replacedBy: [], reversedBy: first });
    expect(byId.get(p2.eventId)).toMatchObject({
      replaces: p1.eventId,
      childEventIds: [c2.eventId],
      replacedBy: [p3.eventId, c3.eventId].sort(),
      reversedBy: second,
    });
    expect(byId.get(c2.eventId)).toMatchObject({ replaces: p1.eventId, parentEventId: p2.eventId, reversedBy: second });
    expect(byId.get(p3.eventId)).toMatchObject({ replaces: p2.eventId, childEventIds: [c3.eventId], replacedBy: [] });
    expect(byId.get(c3.eventId)).toMatchObject({ replaces: p2.eventId, parentEventId: p3.eventId });
    expect(byId.get(p3.eventId)!.reversedBy).toBeUndefined();

    // Each batch with its type and how it took the event, oldest first: reversedBy names the same batch.
    const touched = (id: string) => byId.get(id)!.batches.map((b) => [b.batchId, b.type, b.role, b.status]);
    expect(touched(p1.eventId)).toEqual([
      [rating, 'RATING', 'MEMBER', 'COMPLETED'],
      [first, 'REVERSE_REPLACE', 'MEMBER', 'COMPLETED'],
    ]);
    expect(touched(c1.eventId)).toEqual([
      [rating, 'RATING', 'CHILD', 'COMPLETED'],
      [first, 'REVERSE_REPLACE', 'CHILD', 'COMPLETED'],
    ]);
    expect(touched(p2.eventId)).toEqual([
      [first, 'REVERSE_REPLACE', 'REPLACEMENT', 'COMPLETED'],
      [second, 'REVERSE_REPLACE', 'MEMBER', 'COMPLETED'],
    ]);
    expect(touched(c2.eventId)).toEqual([
      [first, 'REVERSE_REPLACE', 'REPLACEMENT', 'COMPLETED'],
      [second, 'REVERSE_REPLACE', 'CHILD', 'COMPLETED'],
    ]);
    expect(touched(p3.eventId)).toEqual([[second, 'REVERSE_REPLACE', 'REPLACEMENT', 'COMPLETED']]);

    // The same chain from either end, and the event's own read names the reversing batch too.
    for (const end of [p1.eventId, c3.eventId]) {
      const other = await lineage(end);
      expect(other.events.map((e) => e.eventId).sort()).toEqual(answer.events.map((e) => e.eventId).sort());
    }
    expect((await lineage(p1.eventId)).events.map((e) => e.generation)).toEqual([0, 0, 1, 1, 2, 2]);
    expect((await call('GET', `/v1/usage-events/${p1.eventId}`)).body.lineage).toMatchObject({
      replacedBy: [p2.eventId, c2.eventId].sort(),
      reversedBy: first,
    });
  });

  it('shows the undo generation in the same answer: replace, replace the replacement, then undo the second replace', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, {
      body: aSubscription({ products: voiceAndData }),
    });
    const p1 = anEvent({ subscriptionId: sub, quantity: '10' });
    const c1 = anEvent({ subscriptionId: sub, productId: 'data', quantity: '100', parentEventId: p1.eventId });
    await call('POST', '/v1/usage-events', { body: { events: [p1, c1] } });
    await run(await newBatch('RATING', { eventIds: [p1.eventId] }));
    const p2 = anEvent({ subscriptionId: sub, quantity: '8', eventId: `${p1.eventId}-g2` });
    const c2 = anEvent({ ...c1, quantity: '90', eventId: `${c1.eventId}-g2` });
    const first = await newBatch('REVERSE_REPLACE', {
      replacements: [{ originalEventId: p1.eventId, events: [p2, c2] }],
    });
    await run(first);
    const p3 = anEvent({ subscriptionId: sub, quantity: '6', eventId: `${p1.eventId}-g3` });
    const c3 = anEvent({ ...c1, quantity: '80', eventId: `${c1.eventId}-g3`, parentEventId: p2.eventId });
    const second = await newBatch('REVERSE_REPLACE', {
      replacements: [{ originalEventId: p2.eventId, events: [p3, c3] }],
    });
    await run(second);
    const undoRes = await call('POST', `/v1/batches/${second}/undo`, { body: {} });
    expect(undoRes.status, JSON.stringify(undoRes.body)).toBe(201);
    const undo = undoRes.body.batchId as string;
    await run(undo);

    const answer = await lineage(p1.eventId as string);
    expect(answer.truncated).toBe(false);
    const byId = new Map(answer.events.map((e) => [e.eventId, e]));
    // p2 and its child come back as new events restoring them; p3 and its child are reversed by the undo.
    const p2r = byId.get(p2.eventId)!.replacedBy.find((id) => id !== p3.eventId && id !== c3.eventId)!;
    const restored = byId.get(p2r)!;
    expect(restored).toMatchObject({ replaces: p2.eventId, restores: p2.eventId, status: 'RATED', generation: 2 });
    const c2r = restored.childEventIds[0]!;
    expect(byId.get(c2r)).toMatchObject({ restores: c2.eventId, parentEventId: p2r, status: 'RATED', generation: 2 });
    expect(answer.events.map((e) => [e.eventId, e.generation, e.status]).filter(([, g]) => g !== 2)).toEqual([
      [p1.eventId, 0, 'REVERSED'],
      [c1.eventId, 0, 'REVERSED'],
      [p2.eventId, 1, 'REVERSED'],
      [c2.eventId, 1, 'REVERSED'],
    ]);
    expect(byId.get(p3.eventId)).toMatchObject({ status: 'REVERSED', reversedBy: undo, generation: 2 });
    expect(byId.get(c3.eventId)).toMatchObject({ status: 'REVERSED', reversedBy: undo, generation: 2 });
    const touched = (id: string) => byId.get(id)!.batches.map((b) => [b.batchId, b.type, b.role]);
    expect(touched(p3.eventId)).toEqual([
      [second, 'REVERSE_REPLACE', 'REPLACEMENT'],
      [undo, 'UNDO', 'MEMBER'],
    ]);
    expect(touched(p2r)).toEqual([[undo, 'UNDO', 'REPLACEMENT']]);
    expect(touched(p2.eventId).map(([b]) => b)).toEqual([first, second, undo]);
  });

  it('lists an open batch while it holds the event, and forgets it once the event is removed from it', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const e = anEvent({ subscriptionId: sub });
    await call('POST', '/v1/usage-events', { body: { events: [e] } });
    const batchId = await newBatch('RATING', { eventIds: [e.eventId] });
    const held = await lineage(e.eventId as string);
    expect(held.events).toEqual([
      expect.objectContaining({
        eventId: e.eventId,
        heldBy: batchId,
        batches: [expect.objectContaining({ batchId, type: 'RATING', role: 'MEMBER', status: 'DRAFT' })],
      }),
    ]);
    expect((await call('POST', `/v1/batches/${batchId}/events/remove`, { body: { mode: 'ALL' } })).body.removed).toBe(
      1,
    );
    expect((await lineage(e.eventId as string)).events[0]!.batches).toEqual([]);
  });

  it('finds the batch of an event held before events named their batches (from heldBy)', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const e = anEvent({ subscriptionId: sub });
    await call('POST', '/v1/usage-events', { body: { events: [e] } });
    const batchId = await newBatch('RATING', { eventIds: [e.eventId] });
    // As an event held before this release looks: the hold without touchedBy.
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.event(e.eventId as string),
        UpdateExpression: 'REMOVE touchedBy',
      }),
    );
    expect((await lineage(e.eventId as string)).events[0]!.batches).toEqual([
      expect.objectContaining({ batchId, role: 'MEMBER' }),
    ]);
  });

  it('is bounded: past 100 events it answers the nearest ones and says truncated', async () => {
    const sub = uniqueId('sub');
    await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
    const parent = anEvent({ subscriptionId: sub });
    const children = Array.from({ length: 120 }, () =>
      anEvent({ subscriptionId: sub, quantity: '1', parentEventId: parent.eventId }),
    );
    expect((await call('POST', '/v1/usage-events', { body: { events: [parent, ...children] } })).body.accepted).toBe(
      121,
    );
    const fromParent = await lineage(parent.eventId as string);
    expect(fromParent.truncated).toBe(true);
    expect(fromParent.events).toHaveLength(100);
    expect(fromParent.events[0]!.eventId).toBe(parent.eventId);
    // A child's answer reaches its parent first, then as many siblings as the bound leaves room for.
    const fromChild = await lineage(children[0]!.eventId as string);
    expect([fromChild.truncated, fromChild.events.length]).toEqual([true, 100]);
    expect(fromChild.events.map((e) => e.eventId)).toContain(parent.eventId);
  });

  it('answers 404 NOT_FOUND for an unknown event', async () => {
    const res = await call('GET', `/v1/usage-events/${uniqueId('nope')}/lineage`);
    expect([res.status, res.body.code]).toEqual([404, 'NOT_FOUND']);
  });
});
