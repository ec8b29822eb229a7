// The partitions a batch changes: one item each, holding the earliest point the batch changes
// it from, its register's preview computed at lock, and the outcome of submit (the bill lines
// are planned per subscription, in its change set). Workflows page through these
// items; only ids and cursors travel in their payloads.
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { writeInStage, type BatchStage } from './batches';
import { changeSetKeys } from './change-sets';
import { storedErrorCode, type ErrorCode } from '../domain/errors';
import { clients } from './clients';
import { queryAll } from './query-all';
import { isConditionFailure } from './errors';
import { keys } from './keys';

type Item = Record<string, unknown>;

export interface PartitionPreview {
  /** Register value (granted − consumed), scaled quantity. */
  before: bigint;
  after: bigint;
  relatedAdded: number;
  changedEvents: number;
  reversed: number;
  replacementsAdded: number;
}

export type PartitionState = 'PENDING' | 'READY' | 'ERROR' | 'DONE' | 'FAILED';

export interface BatchPartition {
  subscriptionId: string;
  register: string;
  /** `<occurredAt>#<eventId>` of the earliest event the batch changes in this partition. */
  earliest: string;
  state: PartitionState;
  preview?: PartitionPreview;
  errorCode?: ErrorCode;
  errorMessage?: string;
  processed?: number;
}

const toPartition = (i: Item): BatchPartition => ({
  subscriptionId: i.subscriptionId as string,
  register: i.register as string,
  earliest: i.earliest as string,
  state: i.state as PartitionState,
  ...(i.preview ? { preview: toPreview(i.preview as Item) } : {}),
  ...(i.errorCode ? { errorCode: storedErrorCode(i.errorCode) } : {}),
  ...(i.errorMessage ? { errorMessage: i.errorMessage as string } : {}),
  ...(i.processed !== undefined ? { processed: Number(i.processed) } : {}),
});

const toPreview = (p: Item): PartitionPreview => ({
  before: p.before as bigint,
  after: p.after as bigint,
  relatedAdded: Number(p.relatedAdded),
  changedEvents: Number(p.changedEvents),
  reversed: Number(p.reversed),
  replacementsAdded: Number(p.replacementsAdded),
});

/** Records that the batch changes a partition from `earliest` on; keeps the earliest seen (idempotent). */
export async function notePartition(
  batchId: string,
  subscriptionId: string,
  register: string,
  earliest: string,
): Promise<void> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batchPartitionItem(batchId, subscriptionId, register),
        UpdateExpression: 'SET itemType = :t, subscriptionId = :s, #register = :r, earliest = :e, #state = :pending',
        ConditionExpression: 'attribute_not_exists(earliest) OR earliest > :e',
        ExpressionAttributeNames: { '#register': 'register', '#state': 'state' },
        ExpressionAttributeValues: {
          ':t': 'BATCH_PARTITION',
          ':s': subscriptionId,
          ':r': register,
          ':e': earliest,
          ':pending': 'PENDING',
        },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err; // an earlier point is already recorded
  }
}

export async function listPartitions(batchId: string): Promise<BatchPartition[]> {
  const out: BatchPartition[] = (await queryAll(keys.batchPartition(batchId), keys.batchPartitionPrefix)).map(
    toPartition,
  );
  return out;
}

export async function savePartition(batchId: string, p: BatchPartition): Promise<void> {
  await clients.dynamo.send(
    new PutCommand({
      TableName: clients.tableName,
      Item: { ...keys.batchPartitionItem(batchId, p.subscriptionId, p.register), itemType: 'BATCH_PARTITION', ...p },
    }),
  );
}

/** Discards the preview, only while the batch is at `stage`: a late attempt cannot delete what a later stage relies on. */
export async function deletePartitions(batchId: string, stage: BatchStage): Promise<void> {
  const all = [
    ...(await listPartitions(batchId)).map((p) => keys.batchPartitionItem(batchId, p.subscriptionId, p.register)),
    ...(await changeSetKeys(batchId)),
  ];
  // 99 deletes and the stage check per transaction (DynamoDB's limit is 100 items).
  for (let i = 0; i < all.length; i += 99) {
    const deletes = all.slice(i, i + 99).map((key) => ({ Delete: { TableName: clients.tableName, Key: key } }));
    await writeInStage(batchId, stage, deletes);
  }
}

export const partitionKey = (p: Pick<BatchPartition, 'subscriptionId' | 'register'>) =>
  `${p.subscriptionId}#${p.register}`;
