// Submit applies a change set's event chunk once: only once the change set's totals are APPLIED
// and while the batch is PROCESSING, each event not yet written its own conditional update (no
// transaction), then the chunk's small applied mark (an item of its own). A retry skips a marked
// chunk and writes only the events an earlier attempt did not. A REVERSE_REPLACE chunk also inserts its
// replacements already rated and names each original's replacements in the write that reverses it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PendingReplacement } from '../../shared/domain/batch';
import { insertReplacementPage } from '../../shared/services/partition-work';
import { createBatch, requireBatch, transitionBatch, type BatchStage } from '../../shared/store/batches';
import {
  applyEventChunk,
  getChangeSet,
  planIdOf,
  plannedChanges,
  saveChangeSet,
  type ChangeSet,
  type ChangeSetState,
  type PlannedEventChange,
} from '../../shared/store/change-sets';
import { clients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { getEvent, newEventItem } from '../../shared/store/usage-events';
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

/** A change set of subscription sub-1 in `state` with one MINUTES chunk and no totals to write. */
const aChangeSet = (state: ChangeSetState): ChangeSet => ({
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
});

/** A RATING batch moved to `status`, holding three LOADED events. */
async function ratingBatchOfThree(status: 'PROCESSING' | 'LOCKING') {
  const { batchId } = await createBatch(
    { type: 'RATING', options: { arPolicy: 'REJECT', creditOnly: false, requireApproval: false } },
    'test',
    now(),
  );
  const { version } = await transitionBatch(batchId, ['DRAFT'], status, now());
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
  return { batchId, ids, version };
}

/** A PROCESSING batch holding three LOADED events, with one chunk rating them, its change set in `state`. */
async function chunkOfThree(state: ChangeSetState) {
  const { batchId, ids } = await ratingBatchOfThree('PROCESSING');
  const changes: PlannedEventChange[] = ids.map((eventId) => ({ eventId, fromRev: 0, status: 'RATED', rating }));
  const cs = aChangeSet(state);
  const planId = await saveChangeSet(batchId, PROCESSING, cs, new Map([['MINUTES', changes]]));
  const apply = () =>
    applyEventChunk(batchId, { subscriptionId: 'sub-1', planId }, 'MINUTES', 0, {
      now: now(),
      actor: 'test',
      stage: PROCESSING,
    });
  const events = async () => Promise.all(ids.map((id) => get(keys.event(id))));
  const mark = () => get(keys.batchChangeSetChunkMark(batchId, 'sub-1', 'MINUTES', 0));
  const chunkKey = keys.batchChangeSetChunk(batchId, 'sub-1', 'MINUTES', 0, planId);
  return { batchId, ids, changes, planId, apply, events, mark, chunkKey };
}

describe('applying a change-set chunk at submit', () => {
  it('writes each event at its next revision, released, then marks the chunk in an item of its own (the chunk is not rewritten)', async () => {
    const { batchId, apply, events, mark, chunkKey } = await chunkOfThree('APPLIED');
    const chunkBefore = await get(chunkKey);

    expect(await apply()).toEqual({ applied: true, changed: 3, exists: true });

    for (const e of await events())
      expect([e?.status, e?.ratingRev, e?.ratedBy, e?.heldBy]).toEqual(['RATED', 1n, `${batchId}:submit`, undefined]);
    expect((await mark())?.itemType).toBe('CHANGE_SET_CHUNK_APPLIED');
    expect(await get(chunkKey)).toEqual(chunkBefore);
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
    const { apply, events, chunkKey } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: chunkKey,
        UpdateExpression: 'SET applied = :t',
        ExpressionAttributeValues: { ':t': now() },
      }),
    );

    expect(await apply()).toEqual({ applied: false, changed: 0, exists: true });
    expect((await events()).map((e) => e?.ratingRev)).toEqual([0n, 0n, 0n]);
  });

  /** Counts the event updates sent while `op` runs; `fail` may refuse the n-th or lose its answer. */
  async function countingUpdates<T>(op: () => Promise<T>, fail?: (n: number) => 'before' | 'after' | undefined) {
    let sent = 0;
    clients.dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UpdateItemCommand') return next(args);
        const n = ++sent;
        const fault = () => Object.assign(new Error('injected'), { name: 'ThrottlingException' });
        if (fail?.(n) === 'before') throw fault();
        const out = await next(args);
        if (fail?.(n) === 'after') throw fault();
        return out;
      },
      { step: 'initialize', name: 'countUpdates' },
    );
    try {
      return { result: await op(), sent: () => sent };
    } finally {
      clients.dynamo.middlewareStack.remove('countUpdates');
    }
  }

  it('writes only the events an earlier attempt of the same submit did not, counting its write as done', async () => {
    // The earlier attempt wrote e1 but ended before the rest and the mark.
    const { batchId, apply, events, mark } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: { ...keys.event(`${batchId}-e1`), status: 'RATED', ratingRev: 1, ratedBy: `${batchId}:submit` },
      }),
    );

    const { result, sent } = await countingUpdates(apply);

    expect(result).toEqual({ applied: true, changed: 3, exists: true });
    expect(sent()).toBe(2);
    expect((await events()).map((e) => e?.ratingRev)).toEqual([1n, 1n, 1n]);
    expect(await mark()).toBeDefined();
  });

  it('counts as done an event an earlier attempt wrote (releasing it) that a later batch has changed since', async () => {
    // The earlier attempt wrote e1 and died before the mark; another batch then held and re-rated e1.
    const { batchId, apply, events, mark } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: {
          ...keys.event(`${batchId}-e1`),
          status: 'RATED',
          ratingRev: 2,
          ratedBy: 'later:submit',
          heldBy: 'next',
        },
      }),
    );

    expect(await apply()).toEqual({ applied: true, changed: 3, exists: true });
    expect((await events()).map((e) => e?.ratingRev)).toEqual([2n, 1n, 1n]);
    expect(await mark()).toBeDefined();
  });

  it('repeats in place a write throttled before it was sent and one whose answer was lost, and finds the latter written', async () => {
    const { batchId, apply, events, mark } = await chunkOfThree('APPLIED');

    const { result, sent } = await countingUpdates(apply, (n) => (n === 1 ? 'before' : n === 2 ? 'after' : undefined));

    expect(result).toEqual({ applied: true, changed: 3, exists: true });
    // Three events written once each, and the two repeats.
    expect(sent()).toBe(5);
    for (const e of await events()) expect([e?.ratingRev, e?.ratedBy]).toEqual([1n, `${batchId}:submit`]);
    expect(await mark()).toBeDefined();
  });

  it('refuses as INTERNAL an event that moved otherwise although the batch holds it, writing and marking nothing', async () => {
    const { batchId, apply, events, mark } = await chunkOfThree('APPLIED');
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: { ...keys.event(`${batchId}-e2`), status: 'RATED', ratingRev: 1, ratedBy: 'another:submit' },
      }),
    );

    await expect(apply()).rejects.toMatchObject({ code: 'INTERNAL' });
    // The chunk's read found it before any write: e1 and e3 are as they were.
    expect((await events()).map((e) => [e?.ratingRev, e?.ratedBy])).toEqual([
      [0n, undefined],
      [1n, 'another:submit'],
      [0n, undefined],
    ]);
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

describe('saving a change set at lock', () => {
  /** A LOCKING batch holding three LOADED events, and two plans rating them at different prices. */
  async function lockingOfThree() {
    const { batchId, ids, version } = await ratingBatchOfThree('LOCKING');
    const at = (amount: bigint) =>
      new Map([
        [
          'MINUTES',
          ids.map((eventId) => ({ eventId, fromRev: 0, status: 'RATED' as const, rating: { ...rating, amount } })),
        ],
      ]);
    const apply = async () => {
      await clients.dynamo.send(
        new UpdateCommand({
          TableName: clients.tableName,
          Key: keys.batchChangeSet(batchId, 'sub-1'),
          UpdateExpression: 'SET #s = :a',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':a': 'APPLIED' },
        }),
      );
      await transitionBatch(batchId, ['LOCKING', 'LOCKED'], 'PROCESSING', now());
      const cs = await getChangeSet(batchId, 'sub-1');
      await applyEventChunk(batchId, cs!, 'MINUTES', 0, { now: now(), actor: 'test', stage: PROCESSING });
      return Promise.all(ids.map(async (id) => (await get(keys.event(id)))?.rating?.amount));
    };
    return { batchId, stage: { status: 'LOCKING', version } as BatchStage, at, apply };
  }

  it('writes the chunks under the plan the change set names: a save again within the stage (a retry that read other versions) names its own, and submit applies that one', async () => {
    const { batchId, stage, at, apply } = await lockingOfThree();
    const first = await saveChangeSet(batchId, stage, aChangeSet('READY'), at(5n));
    const second = await saveChangeSet(batchId, stage, aChangeSet('READY'), at(7n));

    expect(second).not.toBe(first);
    expect((await getChangeSet(batchId, 'sub-1'))?.planId).toBe(second);
    expect((await plannedChanges(batchId)).flatMap((c) => c.changes.map((x) => x.rating.amount))).toEqual([7n, 7n, 7n]);
    expect(await apply()).toEqual([7n, 7n, 7n]);
  });

  it('a save that outlived the lock stage is refused, and the chunks it wrote beside the named plan are never read', async () => {
    const { batchId, stage, at, apply } = await lockingOfThree();
    const named = await saveChangeSet(batchId, stage, aChangeSet('READY'), at(5n));
    await transitionBatch(batchId, ['LOCKING'], 'LOCKED', now());

    await expect(saveChangeSet(batchId, stage, aChangeSet('READY'), at(7n))).rejects.toMatchObject({
      code: 'INVALID_TRANSITION',
    });
    const late = planIdOf(at(7n));
    expect(await get(keys.batchChangeSetChunk(batchId, 'sub-1', 'MINUTES', 0, late))).toBeDefined();
    expect((await getChangeSet(batchId, 'sub-1'))?.planId).toBe(named);
    expect((await plannedChanges(batchId)).flatMap((c) => c.changes.map((x) => x.rating.amount))).toEqual([5n, 5n, 5n]);
    expect(await apply()).toEqual([5n, 5n, 5n]);
  });

  it('names the same plan when the same changes are saved again, so a retry writes over its own chunks', async () => {
    const { batchId, stage, at } = await lockingOfThree();
    expect(await saveChangeSet(batchId, stage, aChangeSet('READY'), at(5n))).toBe(
      await saveChangeSet(batchId, stage, aChangeSet('READY'), at(5n)),
    );
    expect((await plannedChanges(batchId)).length).toBe(1);
  });

  it("stores a reversal's rating once (its before is its rating) and reads it back as both; a re-rating keeps both", async () => {
    const { batchId, stage } = await lockingOfThree();
    const [reversed, rerated] = [`${batchId}-e1`, `${batchId}-e2`];
    const changes: PlannedEventChange[] = [
      { eventId: reversed, fromRev: 1, status: 'REVERSED', rating, before: rating },
      { eventId: rerated, fromRev: 1, status: 'RATED', rating: { ...rating, amount: 7n }, before: rating },
    ];
    const planId = await saveChangeSet(batchId, stage, aChangeSet('READY'), new Map([['MINUTES', changes]]));

    const stored = (await get(keys.batchChangeSetChunk(batchId, 'sub-1', 'MINUTES', 0, planId)))?.changes;
    expect(stored.map((c: Record<string, unknown>) => [c.eventId, c.before !== undefined, c.beforeIsRating])).toEqual([
      [reversed, false, true],
      [rerated, true, undefined],
    ]);
    const [read] = await plannedChanges(batchId);
    expect(read!.changes.map((c) => [c.eventId, c.before])).toEqual([
      [reversed, rating],
      [rerated, rating],
    ]);
  });
});

/**
 * A PROCESSING REVERSE_REPLACE batch holding one rated original, and a change set in `state` whose
 * chunk reverses it and plans one replacement (`insertsIt`: the chunk inserts the replacement).
 */
async function replacementChunk(state: ChangeSetState, insertsIt = true) {
  const { batchId } = await createBatch(
    { type: 'REVERSE_REPLACE', options: { arPolicy: 'REJECT', creditOnly: false, requireApproval: false } },
    'test',
    now(),
  );
  await transitionBatch(batchId, ['DRAFT'], 'PROCESSING', now());
  const original = `${batchId}-orig`;
  const replacement = `${batchId}-fix`;
  const at = '2026-03-02T10:00:00.000Z';
  await clients.dynamo.send(
    new PutCommand({
      TableName: clients.tableName,
      Item: newEventItem(
        { eventId: original, subscriptionId: 'sub-1', productId: 'voice', quantity: 10n, occurredAt: at },
        'MINUTES',
        now(),
        { status: 'RATED', ratingRev: 1, rating, heldBy: batchId },
      ),
    }),
  );
  const pending: PendingReplacement = {
    eventId: replacement,
    subscriptionId: 'sub-1',
    productId: 'voice',
    register: 'MINUTES',
    quantity: 11n,
    occurredAt: at,
    replaces: original,
  };
  const changes: PlannedEventChange[] = [
    { eventId: original, fromRev: 1, status: 'REVERSED', rating, ...(insertsIt ? { replacedBy: [replacement] } : {}) },
    {
      eventId: replacement,
      fromRev: 0,
      status: 'RATED',
      rating,
      ...(insertsIt ? { insert: { productId: 'voice', quantity: 11n, occurredAt: at, replaces: original } } : {}),
    },
  ];
  const cs: ChangeSet = { ...aChangeSet(state), ...(insertsIt ? { replacementsInChunks: true } : {}) };
  const planId = await saveChangeSet(batchId, PROCESSING, cs, new Map([['MINUTES', changes]]));
  const batch = await requireBatch(batchId);
  const apply = () =>
    applyEventChunk(batchId, { subscriptionId: 'sub-1', planId }, 'MINUTES', 0, {
      now: now(),
      actor: 'test',
      stage: PROCESSING,
    });
  const item = (id: string) => get(keys.event(id));
  return { batch, batchId, original, replacement, pending, apply, item };
}

describe('a REVERSE_REPLACE chunk inserts its replacements rated and links their originals', () => {
  it('a replacement is inserted rated in the chunk transaction and its original is reversed and named its replacement in the same write; a retried chunk changes nothing', async () => {
    const { batchId, original, replacement, apply, item } = await replacementChunk('APPLIED');
    expect(await item(replacement)).toBeUndefined();

    expect(await apply()).toEqual({ applied: true, changed: 2, exists: true });

    const inserted = await getEvent(replacement);
    expect(inserted).toMatchObject({
      status: 'RATED',
      ratingRev: 1,
      quantity: 11n,
      subscriptionId: 'sub-1',
      register: 'MINUTES',
      replaces: original,
      insertedByBatch: batchId,
      rating: { amount: 5n, billPeriod: '2026-03' },
    });
    expect(inserted?.heldBy).toBeUndefined();
    const raw = await item(replacement);
    // Listed in its partition and day like any event (the index keys are written with it).
    expect([raw?.GSI1PK, raw?.GSI3PK, raw?.ratedBy]).toEqual([
      keys.eventPartition('sub-1', 'MINUTES', '2026-03-02T10:00:00.000Z', replacement).GSI1PK,
      keys.eventDay('2026-03-02T10:00:00.000Z', replacement).GSI3PK,
      `${batchId}:submit`,
    ]);
    expect(await getEvent(original)).toMatchObject({
      status: 'REVERSED',
      reversedBy: batchId,
      replacedBy: [replacement],
    });

    const before = [await item(original), await item(replacement)];
    expect(await apply()).toEqual({ applied: false, changed: 0, exists: true });
    expect([await item(original), await item(replacement)]).toEqual(before);
  });

  it('a replacement submit inserted beforehand (a parent other replacements attach to) is rated in place, keeping its children count and insertion time', async () => {
    const { batch, replacement, pending, apply, item } = await replacementChunk('APPLIED');
    const insertedAt = '2026-03-05T00:00:00.000Z';
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: newEventItem(pending, 'MINUTES', insertedAt, {
          replaces: pending.replaces,
          heldBy: batch.batchId,
          insertedByBatch: batch.batchId,
          childCount: 1,
        }),
      }),
    );

    expect(await apply()).toMatchObject({ applied: true, changed: 2 });

    expect(await getEvent(replacement)).toMatchObject({
      status: 'RATED',
      ratingRev: 1,
      childCount: 1,
      createdAt: insertedAt,
    });
    expect((await item(replacement))?.heldBy).toBeUndefined();
  });

  it('refuses as INTERNAL a replacement whose id an event the batch does not hold has taken, writing and marking nothing', async () => {
    const { batchId, original, replacement, apply, item } = await replacementChunk('APPLIED');
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: newEventItem(
          { eventId: replacement, subscriptionId: 'sub-2', productId: 'voice', quantity: 1n, occurredAt: now() },
          'MINUTES',
          now(),
        ),
      }),
    );
    const before = [await item(original), await item(replacement)];

    await expect(apply()).rejects.toMatchObject({ code: 'INTERNAL' });
    expect([await item(original), await item(replacement)]).toEqual(before);
    expect(await get(keys.batchChangeSetChunkMark(batchId, 'sub-1', 'MINUTES', 0))).toBeUndefined();
  });

  it('inserts no replacement of a change set whose totals are not APPLIED', async () => {
    const { original, replacement, apply, item } = await replacementChunk('STALE');

    await expect(apply()).rejects.toMatchObject({ code: 'PREVIEW_STALE' });
    expect(await item(replacement)).toBeUndefined();
    expect((await getEvent(original))?.replacedBy).toBeUndefined();
  });

  it("submit's insert step leaves a replacement its chunk inserts to the chunk, writing nothing; one locked before is inserted and linked as before, and a retry writes nothing", async () => {
    const chunked = await replacementChunk('APPLIED');
    await insertReplacementPage(chunked.batch, [chunked.pending], 0, now());
    expect(await chunked.item(chunked.replacement)).toBeUndefined();
    expect((await getEvent(chunked.original))?.replacedBy).toBeUndefined();

    const before = await replacementChunk('APPLIED', false);
    expect(await insertReplacementPage(before.batch, [before.pending], 0, now())).toBe(1);
    expect(await getEvent(before.replacement)).toMatchObject({ status: 'LOADED', heldBy: before.batchId });
    expect((await getEvent(before.original))?.replacedBy).toEqual([before.replacement]);
    expect(await insertReplacementPage(before.batch, [before.pending], 0, now())).toBe(0);
    // The chunk then rates the replacement in place and reverses the original, which keeps its link.
    expect(await before.apply()).toMatchObject({ applied: true, changed: 2 });
    expect(await getEvent(before.replacement)).toMatchObject({ status: 'RATED', ratingRev: 1 });
    expect(await getEvent(before.original)).toMatchObject({ status: 'REVERSED', replacedBy: [before.replacement] });
  });

  it("submit's insert step inserts a child's parent replacement (one its chunk would insert) first, held, so the child counts itself on it; the chunk then rates the parent in place", async () => {
    const { batch, batchId, original, replacement, pending, apply } = await replacementChunk('APPLIED');
    // The original has a child the batch reverses too; the child's replacement names the original
    // as its parent, so it attaches to the original's replacement.
    const child = `${batchId}-child`;
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: newEventItem(
          { eventId: child, subscriptionId: 'sub-1', productId: 'voice', quantity: 1n, occurredAt: pending.occurredAt },
          'MINUTES',
          now(),
          { status: 'RATED', ratingRev: 1, rating, heldBy: batchId },
        ),
      }),
    );
    await clients.dynamo.send(
      new PutCommand({
        TableName: clients.tableName,
        Item: {
          ...keys.batchMember(batchId, original),
          itemType: 'BATCH_MEMBER',
          eventId: original,
          role: 'MEMBER',
          state: 'HELD',
          subscriptionId: 'sub-1',
          register: 'MINUTES',
          occurredAt: pending.occurredAt,
          addedAt: now(),
          replacements: [replacement],
          replacementEvents: [pending],
        },
      }),
    );
    const childFix: PendingReplacement = {
      ...pending,
      eventId: `${batchId}-child-fix`,
      quantity: 2n,
      parentEventId: original,
      replaces: child,
    };

    await insertReplacementPage(batch, [pending, childFix], 0, now());
    expect(await getEvent(replacement)).toBeUndefined();
    await insertReplacementPage(batch, [pending, childFix], 1, now());

    expect(await getEvent(replacement)).toMatchObject({ status: 'LOADED', heldBy: batchId, childCount: 1 });
    expect(await getEvent(childFix.eventId)).toMatchObject({
      status: 'LOADED',
      heldBy: batchId,
      parentEventId: replacement,
    });
    // Linked by the chunks that reverse the originals, not here.
    expect((await getEvent(child))?.replacedBy).toBeUndefined();
    expect(await insertReplacementPage(batch, [pending, childFix], 1, now())).toBe(0);
    expect(await apply()).toMatchObject({ applied: true, changed: 2 });
    expect(await getEvent(replacement)).toMatchObject({ status: 'RATED', ratingRev: 1, childCount: 1 });
  });
});
