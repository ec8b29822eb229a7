// A replacement at its original's instant, in its original's partition, is written without index
// entries of its own: the partition and day indexes list it through its original (`replacedBy`),
// at the original's place in rating order. On the real ASL in the local runner, DynamoDB Local.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { selectEvents } from '../../shared/store/batch-members';
import { clients } from '../../shared/store/clients';
import { checkSubscription } from '../../shared/store/invariants';
import { keys } from '../../shared/store/keys';
import { partitionEvents } from '../../shared/store/partition-rating';
import { requireSubscription } from '../../shared/store/subscriptions';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { FINISHED, newBatch, preview, rateThroughBatch } from '../support/corrections';
import { act, useLocalWorkflows } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

// An instant no other test uses, so a by-day read of it finds only this file's events.
const AT = '2026-03-17T03:17:29.417Z';

const item = async (eventId: string) =>
  (
    await clients.dynamo.send(
      new GetCommand({ TableName: clients.tableName, Key: keys.event(eventId), ConsistentRead: true }),
    )
  ).Item;

async function aSubscriptionWith(grant?: string) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  if (grant)
    expect(
      (
        await call('POST', `/v1/subscriptions/${sub}/balances/MINUTES/grants`, {
          body: { amount: grant, validFrom: '2026-03-01T00:00:00Z' },
        })
      ).status,
    ).toBe(201);
  return sub;
}

/** Reverses `original` and replaces it with `events` through a submitted REVERSE_REPLACE batch. */
async function reverseAndReplace(original: string, events: Array<Record<string, unknown>>) {
  const batchId = await newBatch('REVERSE_REPLACE', { replacements: [{ originalEventId: original, events }] });
  expect((await act(batchId, 'lock', ['LOCKED'])).counts.errored).toBe(0);
  const promised = await preview(batchId);
  expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
  return { batchId, promised };
}

const listed = async (sub: string, limit: number) => {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ subscriptionId: sub, limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await call('GET', `/v1/usage-events?${q}`);
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.items.map((e: { eventId: string }) => e.eventId));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids;
};

describe('a replacement listed through its original', () => {
  it('is written without index entries, named by its original, and found right after it by the partition, the list and a by-day read; one at another instant is indexed', async () => {
    const sub = await aSubscriptionWith();
    const p = uniqueId('e');
    const [o, before, after] = await rateThroughBatch(sub, [
      { eventId: `${p}-o`, quantity: '10', occurredAt: AT },
      { eventId: `${p}-0`, quantity: '1', occurredAt: '2026-03-17T01:00:00.000Z' },
      { eventId: `${p}-z`, quantity: '1', occurredAt: '2026-03-17T05:00:00.000Z' },
    ]);
    const same = `${p}-o-same`;
    const moved = `${p}-o-moved`;
    await reverseAndReplace(o!, [
      anEvent({ subscriptionId: sub, eventId: same, quantity: '7', occurredAt: AT }),
      anEvent({ subscriptionId: sub, eventId: moved, quantity: '2', occurredAt: '2026-03-18T00:00:00.000Z' }),
    ]);

    const r = await item(same);
    expect(r).toMatchObject({ indexedVia: o, replaces: o, status: 'RATED' });
    expect([r?.GSI1PK, r?.GSI1SK, r?.GSI3PK, r?.GSI3SK]).toEqual([undefined, undefined, undefined, undefined]);
    expect((await item(moved))?.GSI1PK).toBe(keys.partitionIndexKey(sub, 'MINUTES'));
    expect((await item(moved))?.indexedVia).toBeUndefined();
    expect(new Set((await item(o!))?.replacedBySet as Set<string>)).toEqual(new Set([same, moved]));

    const order = [before, o, same, after, moved];
    expect((await partitionEvents(sub, 'MINUTES')).map((e) => e.eventId)).toEqual(order);
    expect(await listed(sub, 100)).toEqual(order);
    const day = await selectEvents({ from: AT, to: '2026-03-17T03:17:29.418Z' }, ['RATED', 'REVERSED'], 100);
    expect(day.events.filter((e) => e.subscriptionId === sub).map((e) => e.eventId)).toEqual([o, same]);
    const byPartition = await selectEvents({ subscriptionIds: [sub] }, ['RATED'], 100);
    expect(byPartition.events.map((e) => e.eventId)).toEqual([before, same, after, moved]);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it('gives every event once when a page of the list ends between an original and what is listed through it', async () => {
    const sub = await aSubscriptionWith();
    const p = uniqueId('e');
    const [o, next] = await rateThroughBatch(sub, [
      { eventId: `${p}-o`, quantity: '10', occurredAt: AT },
      { eventId: `${p}-p`, quantity: '1', occurredAt: AT },
    ]);
    const parts = [`${p}-o-1`, `${p}-o-2`, `${p}-o-3`];
    await reverseAndReplace(
      o!,
      parts.map((eventId) => anEvent({ subscriptionId: sub, eventId, quantity: '3', occurredAt: AT })),
    );
    for (const id of parts) expect((await item(id))?.indexedVia).toBe(o);
    const all = [o, ...parts, next];
    for (const limit of [1, 2, 3, 4]) expect(await listed(sub, limit), `pages of ${limit}`).toEqual(all);
  });

  it("takes its original's place in rating order: it draws the allowance before an event of the same instant with a later id, in the preview and in the books", async () => {
    const sub = await aSubscriptionWith('30');
    const p = uniqueId('e');
    // By id the replacement (…-c) would come after the other event (…-b); by place it comes right after …-a.
    const [a, b] = await rateThroughBatch(sub, [
      { eventId: `${p}-a`, quantity: '20', occurredAt: AT },
      { eventId: `${p}-b`, quantity: '20', occurredAt: AT },
    ]);
    const c = `${p}-c`;
    const { promised } = await reverseAndReplace(a!, [
      anEvent({ subscriptionId: sub, eventId: c, quantity: '20', occurredAt: AT }),
    ]);
    const events = new Map((await partitionEvents(sub, 'MINUTES')).map((e) => [e.eventId, e]));
    expect([...events.keys()]).toEqual([a, c, b]);
    // All 20 of the replacement from the allowance, 10 of the other event (30 in all).
    expect(events.get(c)?.rating?.allowanceUsed).toBe(20_000_000n);
    expect(events.get(b!)?.rating?.allowanceUsed).toBe(10_000_000n);
    const s = promised.subscriptions.find((x: { subscriptionId: string }) => x.subscriptionId === sub);
    const lines = (await call('GET', `/v1/subscriptions/${sub}/bill-lines`)).body.items;
    expect(s.billLines.map((l: { after: { total: string } }) => l.after.total)).toEqual(
      lines.map((l: { total: string }) => l.total),
    );
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });

  it('a later batch re-rates it and reverses it; its own replacement is indexed (one step of listing through), and the books hold', async () => {
    const sub = await aSubscriptionWith('25');
    const p = uniqueId('e');
    const [o, later] = await rateThroughBatch(sub, [
      { eventId: `${p}-o`, quantity: '10', occurredAt: AT },
      { eventId: `${p}-q`, quantity: '10', occurredAt: '2026-03-20T00:00:00.000Z' },
    ]);
    const r1 = `${p}-o-r1`;
    await reverseAndReplace(o!, [anEvent({ subscriptionId: sub, eventId: r1, quantity: '12', occurredAt: AT })]);
    expect((await item(r1))?.indexedVia).toBe(o);

    // A new price, so the re-rating changes what it rates.
    const repriced = aSubscription({ products: { voice: { register: 'MINUTES', unitPrice: '0.07' } } });
    expect((await call('PUT', `/v1/subscriptions/${sub}`, { body: repriced })).status).toBe(200);
    const rerate = await newBatch('RERATE', { eventIds: [r1] });
    expect((await act(rerate, 'lock', ['LOCKED'])).counts.errored).toBe(0);
    expect((await act(rerate, 'submit', FINISHED)).status).toBe('COMPLETED');
    expect(Number((await item(r1))?.ratingRev)).toBe(2);
    expect((await item(r1))?.indexedVia).toBe(o);

    const r2 = `${p}-o-r2`;
    await reverseAndReplace(r1, [anEvent({ subscriptionId: sub, eventId: r2, quantity: '14', occurredAt: AT })]);
    expect((await item(r2))?.indexedVia).toBeUndefined();
    expect((await item(r2))?.GSI1PK).toBe(keys.partitionIndexKey(sub, 'MINUTES'));
    const events = await partitionEvents(sub, 'MINUTES');
    expect(events.map((e) => [e.eventId, e.status])).toEqual([
      [o, 'REVERSED'],
      [r1, 'REVERSED'],
      [r2, 'RATED'],
      [later, 'RATED'],
    ]);
    // 14 then 10 against 25: the later event draws the 11 left.
    expect(events.find((e) => e.eventId === later)?.rating?.allowanceUsed).toBe(10_000_000n);
    expect(await checkSubscription(await requireSubscription(sub))).toEqual([]);
  });
});
