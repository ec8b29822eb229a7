// Submit applies a change set's event chunk once: its events and the chunk's small applied mark
// (an item of its own) in one transaction, only once the change set's totals are APPLIED and while
// the batch is PROCESSING. A retry skips a marked chunk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createBatch, transitionBatch, type BatchStage } from '../../shared/store/batches';
import {
  applyEventChunk,
  saveChangeSet,
  type ChangeSet,
  type ChangeSetState,
  type PlannedEventChange,
} from '../../shared/store/change-sets';
import { clients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('chunks');
});
afterAll(async () => table.drop());

const now = () => new Date().toISOString();
const PROCESSING: BatchStage = { status: 'PROCESSING' };
const rating = {
  allowanceUsed: 0n,
  draws: [],
  overageQuantity: 1n,
  unitPrice: 5n,
  amount: 5n,
  billPeriod: '2026-03',
  planVersion: 1,
  ratedAt: '2026-03-02T00:00:00.000Z',
};

const get = async (key: { PK: string; SK: string }) =>
  (await clients.dynamo.send(new GetCommand({ TableName: clients.tableName, Key: key, ConsistentRead: true }))).Item;

/** A PROCESSING batch holding three LOADED events, with one chunk rating them, its change set in `state`. */
async function chunkOfThree(state: ChangeSetState) {
  const { batchId } = await createBatch(
    { type: 'RATING', options: { arPolicy: 'REJECT', creditOnly: false, requireApproval: false } },
    'test',
    now(),
  );
  await transitionBatch(batchId, ['DRAFT'], 'PROCESSING', now());
  const ids = [1, 2, 3].map((i) => `${batchId}-e${i}`);
  for (const id of ids)
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: {
          ...keys.event(id),
          itemType: 'USAGE_EVENT',
          eventId: id,
          status: 'LOADED',
          ratingRev: 0,
          heldBy: batchId,
        },
      }),
    );
  const changes: PlannedEventChange[] = ids.map((eventId) => ({ eventId, fromRev: 0, status: 'RATED', rating }));
  const cs: ChangeSet = {
    subscriptionId: 'sub-1',
    accountId: 'acct-1',
    currency: 'USD',
    state,
    planVersion: 1,
    closedThrough: null,
    billUnitId: null,
    registers: [],
    grants: [],
    lines: [],
    documents: [],
    chargeDelta: 0n,
    chunks: [{ register: 'MINUTES', count: 1 }],
  };
  await saveChangeSet(batchId, PROCESSING, cs, new Map([['MINUTES', changes]]));
  const apply = () => applyEventChunk(batchId, 'sub-1', 'MINUTES', 0, { now: now(), actor: 'test', stage: PROCESSING });
  const events = async () => Promise.all(ids.map((id) => get(keys.event(id))));
  const mark = () => get(keys.batchChangeSetChunkMark(batchId, 'sub-1', 'MINUTES', 0));
  return { batchId, ids, apply, events, mark };
}

describe('applying a change-set chunk at submit', () => {
  it('writes each event at its next revision, released, then marks the chunk in an item of its own (the chunk is not rewritten)', async () => {
    const { batchId, apply, events, mark } = await chunkOfThree('APPLIED');
    const chunkBefore = await get(keys.batchChangeSetChunk(batchId, 'sub-1', 'MINUTES', 0));

    expect(await apply()).toEqual({ applied: true, changed: 3, exists: true });

    for (const e of await events())
      expect([e?.status, e?.ratingRev, e?.ratedBy, e?.heldBy]).toEqual(['RATED', 1n, `${batchId}:submit`, undefined]);
    expect((await mark())?.itemType).toBe('CHANGE_SET_CHUNK_APPLIED');
    expect(await get(keys.batchChangeSetChunk(batchId, 'sub-1', 'MINUTES', 0))).toEqual(chunkBefore);
  });

  it('skips a chunk an earlier attempt marked applied, with no event write', async () => {
    const { batchId, apply, events } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: { ...keys.batchChangeSetChunkMark(batchId, 'sub-1', 'MINUTES', 0), itemType: 'CHANGE_SET_CHUNK_APPLIED' },
      }),
    );

    expect(await apply()).toEqual({ applied: false, changed: 0, exists: true });
    expect((await events()).map((e) => e?.ratingRev)).toEqual([0n, 0n, 0n]);
  });

  it('skips a chunk marked applied on the chunk item itself (as before marks were items of their own)', async () => {
    const { batchId, apply, events } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batchChangeSetChunk(batchId, 'sub-1', 'MINUTES', 0),
        UpdateExpression: 'SET applied = :t',
        ExpressionAttributeValues: { ':t': now() },
      }),
    );

    expect(await apply()).toEqual({ applied: false, changed: 0, exists: true });
    expect((await events()).map((e) => e?.ratingRev)).toEqual([0n, 0n, 0n]);
  });

  it('refuses as INTERNAL an event that moved otherwise although the batch holds it, and marks nothing', async () => {
    const { batchId, apply, mark } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: { ...keys.event(`${batchId}-e2`), status: 'RATED', ratingRev: 1, ratedBy: 'another:submit' },
      }),
    );

    await expect(apply()).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await mark()).toBeUndefined();
  });

  it('writes no event of a change set whose totals are not APPLIED (READY or STALE)', async () => {
    for (const state of ['READY', 'STALE'] as const) {
      const { apply, events, mark } = await chunkOfThree(state);
      await expect(apply()).rejects.toMatchObject({ code: 'PREVIEW_STALE' });
      expect((await events()).map((e) => e?.ratingRev)).toEqual([0n, 0n, 0n]);
      expect(await mark()).toBeUndefined();
    }
  });

  it('writes no event once the batch is past PROCESSING (an attempt that outlived its stage)', async () => {
    const { batchId, apply, events } = await chunkOfThree('APPLIED');
    await transitionBatch(batchId, ['PROCESSING'], 'FAILED', now());

    await expect(apply()).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    expect((await events()).map((e) => e?.ratingRev)).toEqual([0n, 0n, 0n]);
  });
});
