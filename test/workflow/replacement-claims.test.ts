// A REVERSE_REPLACE batch claims the partitions of the originals it reverses, where no other batch
// holds an event there: each original gets its member item and no hold, and the claim keeps every
// other batch out of the partition. Where another batch holds an event there, the originals are
// held one by one, as before. On the real ASL in the local runner.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { clients } from '../../shared/store/clients';
import { checkClaims, checkHolds } from '../../shared/store/invariants';
import { keys } from '../../shared/store/keys';
import { claimForOriginals } from '../../shared/services/replacement-claims';
import { prepareReplacements } from '../../shared/services/replacements';
import { requireBatch } from '../../shared/store/batches';
import { releaseEmptiedClaim } from '../../shared/store/claims-for-originals';
import { getSelection, selectPartition } from '../../shared/store/selections';
import { call } from '../support/api';
import { aSubscription, anEvent, uniqueId } from '../support/builders';
import { FINISHED, rateThroughBatch } from '../support/corrections';
import { act, useLocalWorkflows } from '../support/workflows';

let stack: LocalStack;
beforeAll(async () => {
  stack = await useLocalWorkflows();
});
afterAll(async () => stack?.stop());

/** A subscription with `n` rated voice events, one a day from March 1st. */
async function ratedEvents(n: number) {
  const sub = uniqueId('sub');
  await call('PUT', `/v1/subscriptions/${sub}`, { body: aSubscription() });
  const ids = await rateThroughBatch(
    sub,
    Array.from({ length: n }, (_, i) => ({
      quantity: '10',
      occurredAt: `2026-03-${String(i + 1).padStart(2, '0')}T10:00:00Z`,
    })),
  );
  return { sub, ids };
}

const newBatch = async (type: string) => (await call('POST', '/v1/batches', { body: { type } })).body.batchId as string;

const replace = async (batchId: string, sub: string, originals: string[]) => {
  const res = await call('POST', `/v1/batches/${batchId}/replacements`, {
    body: {
      replacements: originals.map((id) => ({
        originalEventId: id,
        events: [anEvent({ subscriptionId: sub, eventId: `${id}-fix`, quantity: '7' })],
      })),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { added: number; rejected: Array<{ originalEventId: string; code: string; message: string }> };
};

const event = async (eventId: string) =>
  (
    await clients.dynamo.send(
      new GetCommand({ TableName: clients.tableName, Key: keys.event(eventId), ConsistentRead: true }),
    )
  ).Item!;

const claimOf = async (sub: string) =>
  (
    await clients.dynamo.send(
      new GetCommand({ TableName: clients.tableName, Key: keys.partitionClaim(sub, 'MINUTES'), ConsistentRead: true }),
    )
  ).Item?.selectedBy as string | undefined;

const memberIds = async (batchId: string) =>
  ((await call('GET', `/v1/batches/${batchId}/members`)).body.items as Array<{ eventId: string }>)
    .map((m) => m.eventId)
    .sort();

describe('a REVERSE_REPLACE add', () => {
  it('claims the partition: each original a member with its replacements and no hold, and no other batch takes an event there', async () => {
    const { sub, ids } = await ratedEvents(4);
    const batchId = await newBatch('REVERSE_REPLACE');
    expect(await replace(batchId, sub, [ids[0]!, ids[1]!])).toMatchObject({ added: 2, rejected: [] });
    expect(await claimOf(sub)).toBe(batchId);
    expect((await getSelection(batchId, sub, 'MINUTES'))?.confirmedAt).toBeDefined();
    for (const id of ids) expect((await event(id)).heldBy).toBeUndefined();
    const members = (await call('GET', `/v1/batches/${batchId}/members`)).body.items;
    expect(members).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ eventId: ids[0], replacements: [`${ids[0]}-fix`] }),
        expect.objectContaining({ eventId: ids[1], replacements: [`${ids[1]}-fix`] }),
      ]),
    );
    expect(members).toHaveLength(2);
    // Another batch: an event the claim covers is held by this batch, by id, as an original, or again.
    const rerate = await newBatch('RERATE');
    const byId = (await call('POST', `/v1/batches/${rerate}/events`, { body: { eventIds: [ids[0], ids[3]] } })).body;
    expect(byId.rejected.map((r: { code: string }) => r.code)).toEqual([
      'EVENT_HELD_BY_OTHER_BATCH',
      'EVENT_HELD_BY_OTHER_BATCH',
    ]);
    expect(byId.rejected[0].message).toContain(batchId);
    const other = await newBatch('REVERSE_REPLACE');
    const res = await call('POST', `/v1/batches/${other}/replacements`, {
      body: { replacements: [{ originalEventId: ids[2], events: [] }] },
    });
    expect(res.body.rejected).toEqual([
      expect.objectContaining({ originalEventId: ids[2], code: 'EVENT_HELD_BY_OTHER_BATCH' }),
    ]);
    // The same request again changes nothing.
    expect(await replace(batchId, sub, [ids[0]!])).toMatchObject({ added: 0, already: 1, rejected: [] });
    expect(await checkHolds()).toEqual([]);
    expect(await checkClaims()).toEqual([]);
  });

  it('locks and submits: each original reversed and replaced once, the later events re-rated as related without a hold, the claim let go', async () => {
    const { sub, ids } = await ratedEvents(4);
    const batchId = await newBatch('REVERSE_REPLACE');
    await replace(batchId, sub, [ids[1]!]);
    const locked = await act(batchId, 'lock', ['LOCKED']);
    expect(locked.counts).toMatchObject({ events: 1, related: 2, errored: 0 });
    for (const id of ids) expect((await event(id)).heldBy).toBeUndefined();
    expect(await memberIds(batchId)).toEqual([ids[1], ids[2], ids[3]].sort());
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    const original = await event(ids[1]!);
    expect([original.status, original.reversedBy, [...original.replacedBySet]]).toEqual([
      'REVERSED',
      batchId,
      [`${ids[1]}-fix`],
    ]);
    expect([...original.touchedBy]).toContain(batchId);
    const replacement = await event(`${ids[1]}-fix`);
    expect([replacement.status, replacement.heldBy]).toEqual(['RATED', undefined]);
    expect(await claimOf(sub)).toBeUndefined();
    expect(await checkHolds()).toEqual([]);
    expect(await checkClaims()).toEqual([]);
  });

  it('adds more originals than one transaction takes, over several claimed partitions, each once and without a hold; submit reverses each', async () => {
    // Three partitions of 20: one request's originals span more than one transaction of claimed originals.
    const parts = await Promise.all([ratedEvents(20), ratedEvents(20), ratedEvents(20)]);
    const batchId = await newBatch('REVERSE_REPLACE');
    const res = await call('POST', `/v1/batches/${batchId}/replacements`, {
      body: {
        replacements: parts.flatMap(({ sub, ids }) =>
          ids.map((id) => ({
            originalEventId: id,
            events: [anEvent({ subscriptionId: sub, eventId: `${id}-fix`, quantity: '7' })],
          })),
        ),
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ added: 60, rejected: [] });
    const all = parts.flatMap((p) => p.ids);
    for (const { sub } of parts) expect(await claimOf(sub)).toBe(batchId);
    for (const id of all) expect((await event(id)).heldBy).toBeUndefined();
    expect(await memberIds(batchId)).toEqual([...all].sort());
    expect(await checkClaims()).toEqual([]);
    await act(batchId, 'lock', ['LOCKED']);
    expect((await act(batchId, 'submit', FINISHED)).status).toBe('COMPLETED');
    for (const id of all) {
      const original = await event(id);
      expect([id, original.status, [...original.replacedBySet]]).toEqual([id, 'REVERSED', [`${id}-fix`]]);
    }
    expect(await checkHolds()).toEqual([]);
    expect(await checkClaims()).toEqual([]);
  });

  it('holds the originals one by one where another batch holds an event of the partition', async () => {
    const { sub, ids } = await ratedEvents(3);
    const rerate = await newBatch('RERATE');
    expect((await call('POST', `/v1/batches/${rerate}/events`, { body: { eventIds: [ids[2]] } })).body.added).toBe(1);
    const batchId = await newBatch('REVERSE_REPLACE');
    expect(await replace(batchId, sub, [ids[0]!])).toMatchObject({ added: 1, rejected: [] });
    expect((await event(ids[0]!)).heldBy).toBe(batchId);
    expect(await claimOf(sub)).toBeUndefined();
    expect(await checkHolds()).toEqual([]);
  });

  it('lets a claim go that turned out shared (a hold by id landed before it), and holds the originals one by one', async () => {
    const { sub, ids } = await ratedEvents(3);
    const rerate = await newBatch('RERATE');
    expect((await call('POST', `/v1/batches/${rerate}/events`, { body: { eventIds: [ids[2]] } })).body.added).toBe(1);
    const batchId = await newBatch('REVERSE_REPLACE');
    // The state an add leaves between its claim and its check: claimed, not confirmed, shared.
    expect(await selectPartition(batchId, sub, 'MINUTES', undefined, new Date().toISOString())).toBe('selected');
    expect(await replace(batchId, sub, [ids[0]!])).toMatchObject({ added: 1, rejected: [] });
    expect((await event(ids[0]!)).heldBy).toBe(batchId);
    expect(await claimOf(sub)).toBeUndefined();
    expect(await getSelection(batchId, sub, 'MINUTES')).toBeUndefined();
    expect(await checkClaims()).toEqual([]);
  });

  it('does not claim a partition larger than a request reads: its originals are held one by one', async () => {
    const { sub, ids } = await ratedEvents(3);
    const batch = await requireBatch(await newBatch('REVERSE_REPLACE'));
    const { ready } = await prepareReplacements(
      batch,
      [{ originalEventId: ids[0]!, events: [] }],
      new Date().toISOString(),
    );
    const now = new Date().toISOString();
    expect(await claimForOriginals(batch, ready, now, 2)).toMatchObject({
      claimed: [],
      byHold: [{ original: { eventId: ids[0] } }],
    });
    expect(await claimOf(sub)).toBeUndefined();
    expect(await claimForOriginals(batch, ready, now, 3)).toMatchObject({
      claimed: [{ original: { eventId: ids[0] } }],
      byHold: [],
    });
    expect(await claimOf(sub)).toBe(batch.batchId);
  });

  it('lets the claim go when a removal leaves it no original, unless an original was added after the removal read it', async () => {
    const { sub, ids } = await ratedEvents(3);
    const batchId = await newBatch('REVERSE_REPLACE');
    await replace(batchId, sub, [ids[0]!, ids[1]!]);
    const remove = (eventIds: string[]) =>
      call('POST', `/v1/batches/${batchId}/events/remove`, { body: { mode: 'BY_RULE', rule: { eventIds } } });
    expect((await remove([ids[0]!])).body.removed).toBe(1);
    expect(await claimOf(sub)).toBe(batchId);
    // A removal that read the claim before another original came keeps it.
    const seen = (await getSelection(batchId, sub, 'MINUTES'))!;
    await replace(batchId, sub, [ids[2]!]);
    expect(await releaseEmptiedClaim(batchId, seen)).toBe(false);
    expect(await claimOf(sub)).toBe(batchId);
    expect((await remove([ids[1]!, ids[2]!])).body.removed).toBe(2);
    expect(await claimOf(sub)).toBeUndefined();
    // The partition is free for another batch.
    const rerate = await newBatch('RERATE');
    expect((await call('POST', `/v1/batches/${rerate}/events`, { body: { eventIds: ids } })).body.added).toBe(3);
    expect(await checkHolds()).toEqual([]);
    expect(await checkClaims()).toEqual([]);
  });
});
