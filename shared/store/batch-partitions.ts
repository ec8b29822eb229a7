// The partitions a batch changes: one item each, holding the earliest point the batch changes
// it from, its register's preview computed at lock, and the outcome of submit (the bill lines
// are planned per subscription, in its change set). Workflows page through these
// items; only ids and cursors travel in their payloads.
import { resolvedKeys, resolvedWrites, type ResolvedMember } from './selections';
import { stageOver, writeInStage, type BatchStage } from './batches';
import { logOnceItems, type LogEntry } from './batch-log';
import { changeSetKeys } from './change-sets';
import { storedErrorCode, type ErrorCode } from '../domain/errors';
import { clients } from './clients';
import { queryAll } from './query-all';
import { intent, refusals, transact } from './intents';
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
  /** The point (domain/rating.ts pointOf) of the earliest event the batch changes in this partition. */
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

/**
 * Records that the batch changes a partition from `earliest` on; keeps the earliest seen
 * (idempotent); only while the batch is at `stage`, so a late lock attempt adds no partition to a
 * batch reverted meanwhile.
 */
export async function notePartition(
  batchId: string,
  stage: BatchStage,
  subscriptionId: string,
  register: string,
  earliest: string,
): Promise<void> {
  // Refused by its own condition: an earlier point is already recorded.
  await writeInStage(batchId, stage, [
    {
      Update: {
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
      },
    },
  ]);
}

export async function listPartitions(batchId: string): Promise<BatchPartition[]> {
  const out: BatchPartition[] = (await queryAll(keys.batchPartition(batchId), keys.batchPartitionPrefix)).map(
    toPartition,
  );
  return out;
}

const partitionPut = (batchId: string, p: BatchPartition) => ({
  Put: {
    TableName: clients.tableName,
    Item: { ...keys.batchPartitionItem(batchId, p.subscriptionId, p.register), itemType: 'BATCH_PARTITION', ...p },
  },
});

/** Pages of fixed members (tens of KB each) written with a partition in one transaction, at most. */
const WITH_PER_TRANSACTION = 10;

/**
 * Saves a partition's state, only while the batch is at `stage`, with the members lock fixed from
 * its selection (none: the batch did not select it): in the same transaction when they take few
 * pages, else before it.
 */
export async function savePartition(
  batchId: string,
  stage: BatchStage,
  p: BatchPartition,
  fixed?: readonly ResolvedMember[],
): Promise<void> {
  const also = fixed ? await resolvedWrites(batchId, p.subscriptionId, p.register, fixed) : [];
  const first = also.length > WITH_PER_TRANSACTION ? also : [];
  for (let i = 0; i < first.length; i += WITH_PER_TRANSACTION)
    await writeInStage(batchId, stage, first.slice(i, i + WITH_PER_TRANSACTION));
  await writeInStage(batchId, stage, [partitionPut(batchId, p), ...(first.length > 0 ? [] : also)]);
}

/**
 * Saves a subscription's partitions FAILED with their log entry, once per `logKey` and only while
 * the batch is at `stage`: a retry or a late attempt logs nothing twice.
 */
export async function savePartitionsFailed(
  batchId: string,
  stage: BatchStage,
  partitions: readonly BatchPartition[],
  logKey: string,
  entry: LogEntry,
): Promise<void> {
  await writeInStage(batchId, stage, [
    ...partitions.map((p) => partitionPut(batchId, p)),
    ...logOnceItems(batchId, logKey, entry),
  ]);
}

/**
 * Marks a partition DONE and adds what it changed to the batch's progress, in one transaction:
 * once per partition (a retry or a late attempt finds it DONE and adds nothing), and only while
 * the batch is PROCESSING, so progress is exact whatever retries do.
 */
export async function savePartitionDone(
  batchId: string,
  p: BatchPartition,
  changed: number,
  now: string,
): Promise<void> {
  const processing: BatchStage = { status: 'PROCESSING' };
  const intents = [
    intent('partition', {
      Put: {
        ...partitionPut(batchId, { ...p, state: 'DONE' }).Put,
        ConditionExpression: '#state <> :done',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':done': 'DONE' },
      },
    }),
    intent('batch', {
      Update: {
        TableName: clients.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: 'ADD progress.done :d SET updatedAt = :now',
        ConditionExpression: '#status = :processing',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':d': changed, ':now': now, ':processing': 'PROCESSING' },
      },
    }),
  ];
  try {
    await transact(intents, { once: true });
  } catch (err) {
    const refused = refusals(err, intents);
    if (refused?.has('batch')) throw stageOver(batchId, processing);
    if (!refused?.has('partition')) throw err;
    // DONE already: its progress was added with it.
  }
}

/** Discards the preview, only while the batch is at `stage`: a late attempt cannot delete what a later stage relies on. */
export async function deletePartitions(batchId: string, stage: BatchStage): Promise<void> {
  const all = [
    ...(await listPartitions(batchId)).map((p) => keys.batchPartitionItem(batchId, p.subscriptionId, p.register)),
    ...(await changeSetKeys(batchId)),
    // The members lock resolved from selections: a draft's selections take what they select then.
    ...(await resolvedKeys(batchId)),
  ];
  // 99 deletes and the stage check per transaction (DynamoDB's limit is 100 items).
  for (let i = 0; i < all.length; i += 99) {
    const deletes = all.slice(i, i + 99).map((key) => ({ Delete: { TableName: clients.tableName, Key: key } }));
    await writeInStage(batchId, stage, deletes);
  }
}

export const partitionKey = (p: Pick<BatchPartition, 'subscriptionId' | 'register'>) =>
  `${p.subscriptionId}#${p.register}`;
