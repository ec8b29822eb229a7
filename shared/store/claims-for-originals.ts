// A REVERSE_REPLACE batch claims the partitions of the originals it reverses instead of holding
// each original: the claim (the one a selection takes) keeps every other batch out of the
// partition, so an original costs its member item alone. A claim counts for originals only once
// confirmed: taken, then the partition read again and found with no event another batch holds (a
// hold by id that landed between the read and the claim). Each transaction of originals' member
// items counts a write on the claim's selection, conditional on that confirmation, so a claim let
// go meanwhile refuses them and a removal that emptied it lets it go only if none came since.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { UsageEvent } from '../domain/usage-event';
import { batchGet } from './batch-get';
import { partitionKey } from './batch-partitions';
import { batchStageCheck, stageOver } from './batches';
import { clients } from './clients';
import { isConditionFailure } from './errors';
import type { TransactItem } from './grouped-transactions';
import { intent, refusals, transact } from './intents';
import { keys } from './keys';
import { queryPrefix } from './query-all';
import type { Selection } from './selections';

/**
 * The batches that claim the events' partitions, other than `batchId`, by event id: such an event
 * is held by that batch as surely as by a hold of its own (its refusal comes first).
 */
export async function claimedElsewhere(
  batchId: string,
  events: ReadonlyArray<Pick<UsageEvent, 'eventId' | 'subscriptionId' | 'register'>>,
): Promise<Map<string, string>> {
  const partitions = new Map(events.map((e) => [partitionKey(e), e]));
  if (partitions.size === 0) return new Map();
  const keyOf = (k: Record<string, unknown>) => `${String(k.PK)}|${String(k.SK)}`;
  const found = new Map(
    (await batchGet([...partitions.values()].map((e) => keys.partitionClaim(e.subscriptionId, e.register)))).map(
      (it) => [keyOf(it), it.selectedBy],
    ),
  );
  const claims = new Map(
    [...partitions].map(([k, e]) => [k, found.get(keyOf(keys.partitionClaim(e.subscriptionId, e.register)))]),
  );
  const out = new Map<string, string>();
  for (const e of events) {
    const by = claims.get(partitionKey(e));
    if (typeof by === 'string' && by !== batchId) out.set(e.eventId, by);
  }
  return out;
}

/** Which of the events' partitions the batch claims for originals, confirmed: one read per partition. */
export async function confirmedClaims(
  batchId: string,
  events: ReadonlyArray<Pick<UsageEvent, 'subscriptionId' | 'register'>>,
): Promise<Set<string>> {
  const partitions = [...new Map(events.map((e) => [partitionKey(e), e])).values()];
  const items =
    partitions.length > 0
      ? await batchGet(partitions.map((e) => keys.batchSelection(batchId, e.subscriptionId, e.register)))
      : [];
  return new Set(
    items
      .filter((it) => typeof it.confirmedAt === 'string')
      .map((it) => partitionKey({ subscriptionId: String(it.subscriptionId), register: String(it.register) })),
  );
}

/**
 * The partitions the batch claims for originals, confirmed, as they are now: up to `max` of its
 * selections are read (a subset past that, which only costs a caller a read it could have spared).
 */
export async function confirmedClaimPartitions(batchId: string, max = CONFIRMED_READ_MAX): Promise<Set<string>> {
  const out = new Set<string>();
  let read = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await queryPrefix({
      pk: keys.batchPartition(batchId),
      prefix: keys.batchSelectionPrefix,
      limit: Math.min(1000, max - read),
      start,
    });
    for (const it of page.Items ?? []) {
      read++;
      if (typeof it.confirmedAt === 'string')
        out.add(partitionKey({ subscriptionId: String(it.subscriptionId), register: String(it.register) }));
    }
    start = page.LastEvaluatedKey;
  } while (start && read < max);
  return out;
}

/** Selections confirmedClaimPartitions reads at most: beyond, reading them costs more than it spares. */
const CONFIRMED_READ_MAX = 2000;

/** Confirms the batch's claim of the partition (see above). False: its selection is gone. */
export async function confirmClaim(
  batchId: string,
  subscriptionId: string,
  register: string,
  now: string,
): Promise<boolean> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batchSelection(batchId, subscriptionId, register),
        UpdateExpression: 'SET confirmedAt = if_not_exists(confirmedAt, :now)',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}

/**
 * The batch's claim of the partition is confirmed, and counts a write under it: in the transaction
 * of originals' member items there (as a check would cost, one per transaction and partition).
 */
export function confirmedClaimWrite(batchId: string, subscriptionId: string, register: string): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.batchSelection(batchId, subscriptionId, register),
      UpdateExpression: 'ADD claimWrites :one',
      ConditionExpression: 'attribute_exists(confirmedAt)',
      ExpressionAttributeValues: { ':one': 1 },
    },
  };
}

/**
 * Lets the batch's claim of a partition go with its selection, while the batch is a draft, if the
 * selection still meets `condition`. False: it did not, and both stay.
 */
async function releaseClaimIf(
  batchId: string,
  subscriptionId: string,
  register: string,
  condition: { expression: string; values?: Record<string, unknown> },
): Promise<boolean> {
  const intents = [
    intent('claim', {
      Delete: {
        TableName: clients.tableName,
        Key: keys.partitionClaim(subscriptionId, register),
        ConditionExpression: 'attribute_not_exists(selectedBy) OR selectedBy = :b',
        ExpressionAttributeValues: { ':b': batchId },
      },
    }),
    intent('selection', {
      Delete: {
        TableName: clients.tableName,
        Key: keys.batchSelection(batchId, subscriptionId, register),
        ConditionExpression: condition.expression,
        ...(condition.values ? { ExpressionAttributeValues: condition.values } : {}),
      },
    }),
    intent('stage', batchStageCheck(batchId, { status: 'DRAFT' })),
  ];
  try {
    await transact(intents);
    return true;
  } catch (err) {
    const refused = refusals(err, intents);
    if (refused?.has('stage')) throw stageOver(batchId, { status: 'DRAFT' });
    if (refused?.has('selection')) return false;
    throw err;
  }
}

/**
 * Lets go a claim not yet confirmed (another batch holds an event of the partition), with its
 * selection, while the batch is a draft. False: it was confirmed meanwhile, and stays.
 */
export const releaseUnconfirmed = (batchId: string, subscriptionId: string, register: string): Promise<boolean> =>
  releaseClaimIf(batchId, subscriptionId, register, { expression: 'attribute_not_exists(confirmedAt)' });

/**
 * Lets a draft's claim for originals go once a removal left it no member there: only if no
 * member item was written under it since the removal read `seen` (its claimWrites then). False:
 * one was, and the claim stays.
 */
export const releaseEmptiedClaim = (batchId: string, seen: Selection): Promise<boolean> =>
  releaseClaimIf(
    batchId,
    seen.subscriptionId,
    seen.register,
    seen.claimWrites > 0
      ? { expression: 'claimWrites = :w AND size(ranges) = :none', values: { ':w': seen.claimWrites, ':none': 0 } }
      : { expression: 'attribute_not_exists(claimWrites) AND size(ranges) = :none', values: { ':none': 0 } },
  );
