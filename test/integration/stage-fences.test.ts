// Every workflow write is fenced by its batch's stage: an attempt of a stage that is over (a Task
// that timed out in AWS runs on) writes nothing, and a step's log entry is written once however
// often the step is repeated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { listLog } from '../../shared/store/batch-log';
import { batchGet } from '../../shared/store/batch-get';
import {
  listPartitions,
  notePartition,
  savePartition,
  savePartitionDone,
  savePartitionsFailed,
  type BatchPartition,
} from '../../shared/store/batch-partitions';
import {
  closeGates,
  createBatch,
  getMembers,
  requireBatch,
  savePlan,
  setMemberState,
  transitionBatch,
  type BatchStage,
} from '../../shared/store/batches';
import { clients } from '../../shared/store/clients';
import { keys } from '../../shared/store/keys';
import { revertStep } from '../../shared/services/revert-for-edit';
import { useTestTable, type TestTable } from '../support/dynamo';

let table: TestTable;
beforeAll(async () => {
  table = await useTestTable('fences');
});
afterAll(async () => table.drop());

const now = () => new Date().toISOString();
const entry = (action: string) => ({ at: now(), actor: 'test', action, message: action.toLowerCase() });
const partition: BatchPartition = {
  subscriptionId: 'sub-1',
  register: 'MINUTES',
  earliest: '2026-03-01#e1',
  state: 'PENDING',
};

/** A batch with one HELD member e1, moved to `status` (its version goes up one per move). */
async function batchIn(...moves: Array<[string, string]>): Promise<string> {
  const { batchId } = await createBatch(
    { type: 'RATING', options: { arPolicy: 'REJECT', creditOnly: false, requireApproval: false } },
    'test',
    now(),
  );
  await clients.dynamo.send(
    new PutCommand({
      TableName: clients.tableName,
      Item: {
        ...keys.batchMember(batchId, 'e1'),
        itemType: 'BATCH_MEMBER',
        eventId: 'e1',
        role: 'MEMBER',
        state: 'HELD',
        subscriptionId: 'sub-1',
        register: 'MINUTES',
        occurredAt: '2026-03-01',
        addedAt: now(),
      },
    }),
  );
  for (const [from, to] of moves) await transitionBatch(batchId, [from as never], to as never, now());
  return batchId;
}

const refused = { code: 'INVALID_TRANSITION' };

describe('a write of a stage that is over', () => {
  // The lock that started at version 2 is over: the batch was reverted (v3) and locked again (v4).
  const lockAgain: Array<[string, string]> = [
    ['DRAFT', 'LOCKING'],
    ['LOCKING', 'DRAFT'],
    ['DRAFT', 'LOCKING'],
  ];
  const oldLock: BatchStage = { status: 'LOCKING', version: 2 };

  it("closes no gate and logs nothing (lock's start)", async () => {
    const batchId = await batchIn(...lockAgain);
    await expect(closeGates(batchId, oldLock, 'LOCK_STARTED#v2', entry('LOCK_STARTED'))).rejects.toMatchObject(refused);
    expect(await batchGet(keys.batchGates(batchId))).toEqual([]);
    expect((await listLog(batchId, 100)).items).toEqual([]);
  });

  it('notes no partition and saves none (lock)', async () => {
    const batchId = await batchIn(...lockAgain);
    await expect(notePartition(batchId, oldLock, 'sub-1', 'MINUTES', '2026-03-01#e1')).rejects.toMatchObject(refused);
    await expect(savePartition(batchId, oldLock, { ...partition, state: 'READY' })).rejects.toMatchObject(refused);
    expect(await listPartitions(batchId)).toEqual([]);
  });

  it('marks no member ERROR (lock), HELD (revert) or FAILED (submit)', async () => {
    const batchId = await batchIn(...lockAgain);
    const error = { code: 'INTERNAL' as const, message: 'late' };
    await expect(setMemberState(batchId, 'e1', 'ERROR', oldLock, error)).rejects.toMatchObject(refused);
    await expect(setMemberState(batchId, 'e1', 'FAILED', { status: 'PROCESSING' }, error)).rejects.toMatchObject(
      refused,
    );
    expect((await getMembers(batchId, ['e1']))[0]).toMatchObject({ state: 'HELD' });

    // A revert at version 5 is over once the batch is DRAFT again and locked: it cannot clear the new lock's error.
    const relocked = await batchIn(
      ['DRAFT', 'LOCKING'],
      ['LOCKING', 'REVERTING'],
      ['REVERTING', 'DRAFT'],
      ['DRAFT', 'LOCKING'],
    );
    await setMemberState(relocked, 'e1', 'ERROR', { status: 'LOCKING', version: 5 }, error);
    await expect(setMemberState(relocked, 'e1', 'HELD', { status: 'REVERTING', version: 3 })).rejects.toMatchObject(
      refused,
    );
    expect((await getMembers(relocked, ['e1']))[0]).toMatchObject({ state: 'ERROR', errorCode: 'INTERNAL' });
  });

  it('reverts nothing for an earlier revert of a batch asked to revert again (its version moved on)', async () => {
    // Reverted at version 3, that revert stopped, and asked again: REVERTING at version 4.
    const batchId = await batchIn(['DRAFT', 'LOCKING'], ['LOCKING', 'REVERTING'], ['REVERTING', 'REVERTING']);
    await setMemberState(
      batchId,
      'e1',
      'ERROR',
      { status: 'REVERTING', version: 4 },
      { code: 'INTERNAL', message: 'x' },
    );
    const step = { batchId, actor: 'test', phase: 'related' as const, cursor: null };

    await expect(revertStep({ ...step, version: 3 }, now)).rejects.toMatchObject(refused);
    expect(await requireBatch(batchId)).toMatchObject({ status: 'REVERTING', version: 4 });
    expect((await getMembers(batchId, ['e1']))[0]).toMatchObject({ state: 'ERROR' });
    expect((await listLog(batchId, 100)).items).toEqual([]);

    // The revert asked last does the work.
    await revertStep({ ...step, version: 4 }, now);
    expect(await requireBatch(batchId)).toMatchObject({ status: 'DRAFT', version: 5 });
    expect((await getMembers(batchId, ['e1']))[0]).toMatchObject({ state: 'HELD' });
  });

  it('saves no submit plan, partition outcome, progress or log entry once the batch has finished', async () => {
    const batchId = await batchIn(['DRAFT', 'PROCESSING'], ['PROCESSING', 'COMPLETED']);
    await expect(savePlan(batchId, { shards: 1, partitions: 1 }, entry('SUBMIT_STARTED'))).rejects.toMatchObject(
      refused,
    );
    await expect(
      savePartitionsFailed(
        batchId,
        { status: 'PROCESSING' },
        [{ ...partition, state: 'FAILED' }],
        'PARTITION_FAILED#sub-1',
        entry('PARTITION_FAILED'),
      ),
    ).rejects.toMatchObject(refused);
    await expect(savePartitionDone(batchId, partition, 5, now())).rejects.toMatchObject(refused);
    await expect(
      transitionBatch(batchId, ['PROCESSING'], 'FAILED', now(), { log: entry('FAILED') }),
    ).rejects.toMatchObject(refused);
    expect(await listPartitions(batchId)).toEqual([]);
    expect((await requireBatch(batchId)).progress.done).toBe(0);
    expect((await listLog(batchId, 100)).items).toEqual([]);
  });
});

describe('a step repeated in its stage', () => {
  it('logs the lock start once however often the gates are closed', async () => {
    const batchId = await batchIn(['DRAFT', 'LOCKING']);
    const stage: BatchStage = { status: 'LOCKING', version: 2 };
    await closeGates(batchId, stage, 'LOCK_STARTED#v2', entry('LOCK_STARTED'));
    await closeGates(batchId, stage, 'LOCK_STARTED#v2', entry('LOCK_STARTED'));
    expect(await batchGet(keys.batchGates(batchId))).toHaveLength(keys.batchGates(batchId).length);
    expect((await listLog(batchId, 100)).items.map((e) => e.action)).toEqual(['LOCK_STARTED']);
  });

  it('counts a partition in progress once however often it is marked DONE, and keeps the first plan', async () => {
    const batchId = await batchIn(['DRAFT', 'PROCESSING']);
    await savePartition(batchId, { status: 'PROCESSING' }, partition);
    await savePartitionDone(batchId, partition, 5, now());
    await savePartitionDone(batchId, partition, 5, now());
    expect((await requireBatch(batchId)).progress.done).toBe(5);

    expect(await savePlan(batchId, { shards: 2, partitions: 2 }, entry('SUBMIT_STARTED'))).toEqual({
      shards: 2,
      partitions: 2,
    });
    expect(await savePlan(batchId, { shards: 3, partitions: 3 }, entry('SUBMIT_STARTED'))).toEqual({
      shards: 2,
      partitions: 2,
    });
    expect((await listLog(batchId, 100)).items.map((e) => e.action)).toEqual(['SUBMIT_STARTED']);
  });

  it('logs a move with the move: a refused move logs nothing', async () => {
    const batchId = await batchIn(['DRAFT', 'LOCKING']);
    await transitionBatch(batchId, ['LOCKING'], 'LOCKED', now(), { log: entry('LOCKED') }, 2);
    await expect(
      transitionBatch(batchId, ['LOCKING'], 'LOCKED', now(), { log: entry('LOCKED') }, 2),
    ).rejects.toMatchObject(refused);
    expect((await listLog(batchId, 100)).items.map((e) => e.action)).toEqual(['LOCKED']);
    expect(await requireBatch(batchId)).toMatchObject({ status: 'LOCKED', version: 3 });
  });
});
