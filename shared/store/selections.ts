// Partitions a batch holds whole, by selection: one claim item per partition (who selected it) and
// one selection item per batch and partition (its time ranges and exclusions), instead of a hold
// and a member item per event. Every hold of an event by id checks the claim in its transaction,
// so a partition is held by one selection or by events one at a time, never both. Lock resolves
// a selection's members once (the resolved pages below); from then on they are fixed.
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { selects, type SelectionRange } from '../domain/batch';
import { DomainError } from '../domain/errors';
import { EVENT_STATUSES, type UsageEvent } from '../domain/usage-event';
import { batchStageCheck, gateOpen, stageOver, writeInStage, type BatchStage } from './batches';
import { clients } from './clients';
import { fromWire } from './errors';
import type { TransactItem } from './grouped-transactions';
import { intent, refusals, transact } from './intents';
import { readItem } from './item-reader';
import { keys } from './keys';
import { queryAll } from './query-all';

type Item = Record<string, unknown>;

export interface Selection {
  batchId: string;
  subscriptionId: string;
  register: string;
  /** What the criteria named, one range per add: an event any of them takes is selected. */
  ranges: SelectionRange[];
  /** Events removed from the selection one by one. */
  excluded: Set<string>;
  addedAt: string;
  /** A claim for originals: when the batch found no other batch holding an event there after claiming. */
  confirmedAt?: string;
  /** Writes of originals' member items under the claim: a removal lets an emptied claim go only if none came since it looked. */
  claimWrites: number;
}

/** Ranges one selection keeps: past it, the partition's events are held one by one. */
export const MAX_SELECTION_RANGES = 20;
/** Events one selection may exclude: past it, the batch is asked to remove the whole selection. */
export const MAX_EXCLUDED = 1000;

export function toSelection(item: Item): Selection {
  const r = readItem(item, 'selection', 'SK');
  return {
    batchId: r.string('batchId'),
    subscriptionId: r.string('subscriptionId'),
    register: r.string('register'),
    ranges: r.nestedList('ranges').map((x) => {
      const from = x.optionalString('from');
      const to = x.optionalString('to');
      const productId = x.optionalString('productId');
      return {
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        statuses: x.stringList('statuses').map((s) => {
          if (!(EVENT_STATUSES as readonly string[]).includes(s)) throw new Error(`selection: status ${s} unknown`);
          return s as SelectionRange['statuses'][number];
        }),
        ...(productId !== undefined ? { productId } : {}),
      };
    }),
    excluded: new Set(r.stringSet('excluded')),
    addedAt: r.string('addedAt'),
    ...(r.optionalString('confirmedAt') !== undefined ? { confirmedAt: r.optionalString('confirmedAt')! } : {}),
    claimWrites: r.count('claimWrites'),
  };
}

/** Whether the selection takes the event: one of its ranges does, and it was not excluded. */
export const selectionTakes = (
  sel: Pick<Selection, 'ranges' | 'excluded'>,
  e: Pick<UsageEvent, 'eventId' | 'occurredAt' | 'status' | 'productId'>,
): boolean => !sel.excluded.has(e.eventId) && selects(sel.ranges, e);

/**
 * A hold of one event by id, by `batchId`, checks this: no other batch selected the event's
 * partition. Its refusal names the batch that did (see claimedBy).
 */
export function claimCheck(batchId: string, subscriptionId: string, register: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.partitionClaim(subscriptionId, register),
      ConditionExpression: 'attribute_not_exists(selectedBy) OR selectedBy = :b',
      ExpressionAttributeValues: { ':b': batchId },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** The batch a refused claim check names, or undefined when the refusal was not a claim's. */
export function claimedBy(reason: CancellationReason | undefined): string | undefined {
  const v = reason?.Item ? fromWire(reason.Item).selectedBy : undefined;
  return typeof v === 'string' ? v : undefined;
}

export async function getSelection(
  batchId: string,
  subscriptionId: string,
  register: string,
): Promise<Selection | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.batchSelection(batchId, subscriptionId, register),
      ConsistentRead: true,
    }),
  );
  return res.Item ? toSelection(res.Item) : undefined;
}

export async function listSelections(batchId: string): Promise<Selection[]> {
  return (await queryAll(keys.batchPartition(batchId), keys.batchSelectionPrefix)).map(toSelection);
}

export type SelectOutcome = 'selected' | 'closed' | 'full' | { claimedBy: string };

/**
 * Claims the partition for the batch and records (or widens) its selection by `range`, while the
 * batch's gate is open: one transaction, whatever the partition holds. Refused when another batch
 * selected it, when the batch's edits closed, or when the selection has its most ranges.
 */
export async function selectPartition(
  batchId: string,
  subscriptionId: string,
  register: string,
  /** None: the claim only (a REVERSE_REPLACE batch's originals there are its member items). */
  range: SelectionRange | undefined,
  now: string,
): Promise<SelectOutcome> {
  const claimKey = keys.partitionClaim(subscriptionId, register);
  const intents = [
    intent('claim', {
      Update: {
        TableName: clients.tableName,
        Key: claimKey,
        UpdateExpression: 'SET itemType = :type, selectedBy = :b, selectedAt = if_not_exists(selectedAt, :now)',
        ConditionExpression: 'attribute_not_exists(selectedBy) OR selectedBy = :b',
        ExpressionAttributeValues: { ':type': 'PARTITION_CLAIM', ':b': batchId, ':now': now },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    }),
    intent('selection', {
      Update: {
        TableName: clients.tableName,
        Key: keys.batchSelection(batchId, subscriptionId, register),
        UpdateExpression: `SET itemType = :type, batchId = :b, subscriptionId = :sub, #register = :reg, addedAt = if_not_exists(addedAt, :now), ranges = ${range ? 'list_append(if_not_exists(ranges, :none), :range)' : 'if_not_exists(ranges, :none)'}`,
        ...(range ? { ConditionExpression: 'attribute_not_exists(ranges) OR size(ranges) < :max' } : {}),
        ExpressionAttributeNames: { '#register': 'register' },
        ExpressionAttributeValues: {
          ':type': 'BATCH_SELECTION',
          ':b': batchId,
          ':sub': subscriptionId,
          ':reg': register,
          ':now': now,
          ':none': [],
          ...(range ? { ':range': [{ ...range, statuses: [...range.statuses] }], ':max': MAX_SELECTION_RANGES } : {}),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    }),
    intent('gate', gateOpen(batchId, `${subscriptionId}#${register}`)),
  ];
  try {
    await transact(intents);
  } catch (err) {
    const refused = refusals(err, intents);
    if (!refused) throw err;
    if (refused.has('gate')) return 'closed';
    const other = claimedBy(refused.get('claim'));
    if (other) return { claimedBy: other };
    if (refused.has('selection')) return 'full';
    throw err;
  }
  return 'selected';
}

/**
 * Lets a batch's selections go while it is at `stage`: the claim and, unless `keepRecord` (a
 * finished batch keeps what it selected, as it keeps its member items), the selection and the
 * members lock resolved from it. Repeatable: a claim already let go (or never taken) is skipped.
 */
export async function releaseSelections(
  batchId: string,
  selections: readonly Pick<Selection, 'subscriptionId' | 'register'>[],
  stage: BatchStage,
  keepRecord = false,
): Promise<number> {
  let released = 0;
  for (const s of selections) {
    const resolved = keepRecord ? [] : await resolvedKeys(batchId, s.subscriptionId, s.register);
    const records = keepRecord
      ? []
      : [keys.batchSelection(batchId, s.subscriptionId, s.register), ...resolved].map((Key) =>
          intent('record', { Delete: { TableName: clients.tableName, Key } }),
        );
    const claim = intent('claim', {
      Delete: {
        TableName: clients.tableName,
        Key: keys.partitionClaim(s.subscriptionId, s.register),
        ConditionExpression: 'selectedBy = :b',
        ExpressionAttributeValues: { ':b': batchId },
      },
    });
    const stageCheck = intent('stage', batchStageCheck(batchId, stage));
    for (const intents of [
      [claim, ...records, stageCheck],
      [...records, stageCheck],
    ]) {
      if (intents.length === 1) break;
      try {
        await transact(intents);
        released++;
        break;
      } catch (err) {
        const refused = refusals(err, intents);
        if (refused?.has('stage')) throw stageOver(batchId, stage);
        // Let go already (an earlier attempt): what is left is the record.
        if (!refused?.has('claim')) throw err;
      }
    }
  }
  return released;
}

/**
 * Takes events out of a draft's selection (a removal by rule), recorded on the selection item:
 * refused past MAX_EXCLUDED, when removing the whole selection is the way.
 */
export async function excludeFromSelection(
  batchId: string,
  s: Pick<Selection, 'subscriptionId' | 'register'>,
  eventIds: readonly string[],
  stage: BatchStage,
): Promise<void> {
  if (eventIds.length === 0) return;
  const done = await writeInStage(batchId, stage, [
    {
      Update: {
        TableName: clients.tableName,
        Key: keys.batchSelection(batchId, s.subscriptionId, s.register),
        UpdateExpression: 'ADD excluded :ids',
        ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(excluded) OR size(excluded) <= :room)',
        ExpressionAttributeValues: { ':ids': new Set(eventIds), ':room': MAX_EXCLUDED - eventIds.length },
      },
    },
  ]);
  if (!done)
    throw new DomainError(
      'CRITERIA_TOO_BROAD',
      `the selection of ${s.subscriptionId} ${s.register} excludes at most ${MAX_EXCLUDED} events; remove it whole (its subscription) and add again with narrower criteria`,
    );
}

// ---- members resolved at lock --------------------------------------------------------------------

/** A member lock resolved from a selection: selected (M) or later in the partition (R, re-rated with them). */
export interface ResolvedMember {
  eventId: string;
  occurredAt: string;
  role: 'MEMBER' | 'RELATED';
}

/** Resolved members per item: about 60 bytes each, far below the item size limit. */
const RESOLVED_PER_ITEM = 1000;

const encodeResolved = (m: ResolvedMember) => `${m.role === 'MEMBER' ? 'M' : 'R'}${m.occurredAt}#${m.eventId}`;

function decodeResolved(s: string): ResolvedMember {
  const i = s.indexOf('#');
  if ((s[0] !== 'M' && s[0] !== 'R') || i < 2) throw new Error(`resolved member ${s} is not [M|R]occurredAt#eventId`);
  return { role: s[0] === 'M' ? 'MEMBER' : 'RELATED', occurredAt: s.slice(1, i), eventId: s.slice(i + 1) };
}

/**
 * The writes that record the members lock resolved from a partition's selection, in pages of
 * RESOLVED_PER_ITEM, and take away pages an earlier attempt wrote past this one's last (events
 * changed between attempts). A retry writes the same pages again.
 */
export async function resolvedWrites(
  batchId: string,
  subscriptionId: string,
  register: string,
  members: readonly ResolvedMember[],
): Promise<TransactItem[]> {
  const puts: TransactItem[] = [];
  for (let n = 0; n * RESOLVED_PER_ITEM < members.length; n++)
    puts.push({
      Put: {
        TableName: clients.tableName,
        Item: {
          ...keys.batchSelectionResolved(batchId, subscriptionId, register, n),
          itemType: 'BATCH_SELECTION_MEMBERS',
          members: members.slice(n * RESOLVED_PER_ITEM, (n + 1) * RESOLVED_PER_ITEM).map(encodeResolved),
        },
      },
    });
  const stale = (await resolvedKeys(batchId, subscriptionId, register))
    .slice(puts.length)
    .map((Key): TransactItem => ({ Delete: { TableName: clients.tableName, Key } }));
  return [...puts, ...stale];
}

/** The members lock resolved from the partition's selection, in rating order; none before lock. */
export async function resolvedMembers(
  batchId: string,
  subscriptionId: string,
  register: string,
): Promise<ResolvedMember[]> {
  const items = await queryAll(
    keys.batchPartition(batchId),
    keys.batchSelectionResolvedPrefix(subscriptionId, register),
  );
  return items.flatMap((it) => readItem(it, 'resolved members', 'SK').stringList('members').map(decodeResolved));
}

/** The keys of every page of resolved members of the batch (or of one partition). */
export async function resolvedKeys(
  batchId: string,
  subscriptionId?: string,
  register?: string,
): Promise<Array<{ PK: string; SK: string }>> {
  const prefix =
    subscriptionId !== undefined && register !== undefined
      ? keys.batchSelectionResolvedPrefix(subscriptionId, register)
      : keys.batchSelectionsResolvedPrefix;
  return (await queryAll(keys.batchPartition(batchId), prefix)).map((it) => ({
    PK: String(it.PK),
    SK: String(it.SK),
  }));
}
