// Over 350 lines: the batch item's writes share one fence condition; splitting them (gates, plan,
// progress) is open work.
// Batches, their members and their log. Every guard is a condition: an event is held by a batch
// through a conditional write on the event item itself, in the same transaction as the member
// item and a check that the batch is still open for edits.
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  actionRefusal,
  AR_POLICIES,
  BATCH_ACTIONS,
  BATCH_STATUSES,
  BATCH_TYPES,
  isRelatedReason,
  MEMBER_ROLES,
  MEMBER_STATES,
  type Batch,
  type BatchAction,
  type BatchMember,
  type BatchStatus,
  type BatchType,
  type NewBatch,
  type PendingStart,
  type PendingReplacement,
} from '../domain/batch';
import { DomainError, storedErrorCode, type ErrorCode } from '../domain/errors';
import type { TransactItem } from './grouped-transactions';
import { WORKFLOW_NAMES } from '../domain/workflows';
import { batchGet } from './batch-get';
import { type ItemReader, readItem } from './item-reader';
import { logEntryPut, logOnceItems, type LogEntry } from './batch-log';
import { clients } from './clients';
import { decodeCursor, encodeCursor, isStringRecord } from './cursor';
import { isConditionCancellation, isConditionFailure } from './errors';
import { intent, refusals, transact } from './intents';
import { keys } from './keys';
import { queryIndexItems, queryPrefix } from './query-all';

type Item = Record<string, unknown>;

const zeroCounts = { events: 0, related: 0, errored: 0, inProcess: 0, processed: 0 };

export function toBatch(item: Item): Batch {
  const r = readItem(item, 'batch', 'batchId');
  const counts = r.bigintMap('counts');
  const progress = r.bigintMap('progress');
  const options = r.optionalNested('options');
  const effectiveAt = options?.optionalString('effectiveAt');
  const pending = r.optionalNested('pendingStart');
  const name = r.optionalString('name');
  const description = r.optionalString('description');
  const lockedBy = r.optionalString('lockedBy');
  const undoes = r.optionalString('undoes');
  const undoneBy = r.optionalString('undoneBy');
  return {
    batchId: r.string('batchId'),
    type: r.oneOf('type', BATCH_TYPES),
    ...(name ? { name } : {}),
    ...(description ? { description } : {}),
    status: r.oneOf('status', BATCH_STATUSES),
    version: r.integer('version'),
    options: {
      arPolicy: options ? options.oneOf('arPolicy', AR_POLICIES) : 'REJECT',
      creditOnly: options?.flag('creditOnly') ?? false,
      ...(effectiveAt ? { effectiveAt } : {}),
      requireApproval: options?.flag('requireApproval') ?? false,
    },
    counts: {
      events: Number(counts.events ?? 0n),
      related: Number(counts.related ?? 0n),
      errored: Number(counts.errored ?? 0n),
      inProcess: Number(counts.inProcess ?? 0n),
      processed: Number(counts.processed ?? 0n),
    },
    progress: { done: Number(progress.done ?? 0n), total: Number(progress.total ?? 0n) },
    createdBy: r.string('createdBy'),
    ...(lockedBy ? { lockedBy } : {}),
    createdAt: r.string('createdAt'),
    updatedAt: r.string('updatedAt'),
    ...(r.has('lastError') ? { lastError: toLastError(item.lastError as Item) } : {}),
    ...(r.has('executions') ? { executions: r.stringMap('executions') } : {}),
    ...(pending
      ? {
          pendingStart: {
            action: pending.oneOf('action', BATCH_ACTIONS),
            workflow: pending.oneOf('workflow', WORKFLOW_NAMES),
            name: pending.string('name'),
            input: pending.string('input'),
          },
        }
      : {}),
    ...(r.flag('cancelRequested') ? { cancelRequested: true } : {}),
    ...(undoes ? { undoes } : {}),
    ...(undoneBy ? { undoneBy } : {}),
  };
}

export async function createBatch(input: NewBatch, actor: string, now: string): Promise<Batch> {
  const batch = draftBatch(input.type, input, actor, now);
  await clients.dynamo.send(
    new PutCommand({
      TableName: clients.tableName,
      Item: { ...keys.batch(batch.batchId), ...keys.batchListing(now, batch.batchId), itemType: 'BATCH', ...batch },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  return batch;
}

/** A new batch as it is first written: DRAFT, version 1, nothing counted yet. */
function draftBatch(type: Batch['type'], input: Omit<NewBatch, 'type'>, actor: string, now: string): Batch {
  return {
    batchId: randomUUID(),
    type,
    ...(input.name ? { name: input.name } : {}),
    ...(input.description ? { description: input.description } : {}),
    status: 'DRAFT',
    version: 1,
    options: input.options,
    counts: { ...zeroCounts },
    progress: { done: 0, total: 0 },
    executions: {},
    createdBy: actor,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Creates the UNDO batch of a completed batch and names it on the original, in one transaction:
 * the original must still be COMPLETED and name no undo (or the cancelled or failed one read,
 * `replacing`), so two undo requests cannot both create one. Undefined: refused by that condition.
 */
export async function createUndoBatch(
  original: Batch,
  input: Omit<NewBatch, 'type'>,
  actor: string,
  now: string,
  replacing?: string,
): Promise<Batch | undefined> {
  const batch: Batch = { ...draftBatch('UNDO', input, actor, now), undoes: original.batchId };
  const intents = [
    intent('undo', {
      Put: {
        TableName: clients.tableName,
        Item: {
          ...keys.batch(batch.batchId),
          ...keys.batchListing(now, batch.batchId),
          itemType: 'BATCH',
          ...batch,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    }),
    intent('original', {
      Update: {
        TableName: clients.tableName,
        Key: keys.batch(original.batchId),
        UpdateExpression: 'SET undoneBy = :u',
        ConditionExpression: `#status = :completed AND ${replacing ? 'undoneBy = :prev' : 'attribute_not_exists(undoneBy)'}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':u': batch.batchId,
          ':completed': 'COMPLETED',
          ...(replacing ? { ':prev': replacing } : {}),
        },
      },
    }),
  ];
  try {
    await transact(intents, { once: true });
  } catch (err) {
    if (refusals(err, intents)?.has('original')) return undefined;
    throw err;
  }
  return batch;
}

export async function getBatch(batchId: string): Promise<Batch | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.batch(batchId), ConsistentRead: true }),
  );
  return res.Item ? toBatch(res.Item) : undefined;
}

export async function requireBatch(batchId: string): Promise<Batch> {
  const b = await getBatch(batchId);
  if (!b) throw new DomainError('NOT_FOUND', `batch ${batchId} was not found`);
  return b;
}

/** The stage a workflow works in: the batch's status (or one of several) and, where a status recurs (LOCKING), its version. */
export interface BatchStage {
  status: BatchStatus | readonly BatchStatus[];
  version?: number;
}

/**
 * A transaction item that passes only while the batch is still at `stage`. A workflow attempt
 * that outlived its stage (a Task that timed out in AWS leaves its Lambda running) then writes
 * nothing, however late its write lands.
 */
export function batchStageCheck(batchId: string, stage: BatchStage): TransactItem {
  const statuses = [stage.status].flat();
  const versioned = stage.version !== undefined;
  return {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.batch(batchId),
      ConditionExpression: `#status IN (${statuses.map((_, i) => `:s${i}`).join(', ')})${versioned ? ' AND #version = :version' : ''}`,
      ExpressionAttributeNames: { '#status': 'status', ...(versioned ? { '#version': 'version' } : {}) },
      ExpressionAttributeValues: {
        ...Object.fromEntries(statuses.map((s, i) => [`:s${i}`, s])),
        ...(versioned ? { ':version': stage.version } : {}),
      },
    },
  };
}

/** Whether the batch is still at `stage` now (a strongly consistent read of what batchStageCheck checks). */
export async function batchInStage(batchId: string, stage: BatchStage): Promise<boolean> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.batch(batchId), ConsistentRead: true }),
  );
  const statuses: readonly string[] = [stage.status].flat();
  return (
    res.Item !== undefined &&
    statuses.includes(res.Item.status as string) &&
    (stage.version === undefined || Number(res.Item.version) === stage.version)
  );
}

/** What an attempt that outlived its stage meets: it stops; the attempt that replaced it does the work. */
export const stageOver = (batchId: string, stage: BatchStage) =>
  new DomainError(
    'INVALID_TRANSITION',
    `batch ${batchId} is no longer ${[stage.status].flat().join(' or ')}${stage.version === undefined ? '' : ` (version ${stage.version})`}; this attempt stops`,
  );

/**
 * Sends `items` with the batch's stage check as one transaction (at most 99 items). Refused by the
 * stage check: stageOver. Refused by an item's own condition (the step was done already, by this
 * attempt's earlier try or another attempt): false, and nothing of it is written.
 */
export async function writeInStage(
  batchId: string,
  stage: BatchStage,
  items: readonly TransactItem[],
): Promise<boolean> {
  const intents = [...items.map((item) => intent('step', item)), intent('stage', batchStageCheck(batchId, stage))];
  try {
    await transact(intents, { once: true });
    return true;
  } catch (err) {
    const refused = refusals(err, intents);
    if (refused?.has('stage')) throw stageOver(batchId, stage);
    if (refused?.has('step') && isConditionCancellation(err)) return false;
    throw err;
  }
}

/** Reads the batch and refuses the action by the rule table (409/422) before any write. */
export async function batchFor(batchId: string, action: BatchAction): Promise<Batch> {
  const b = await requireBatch(batchId);
  const refusal = actionRefusal(b, action);
  if (refusal) throw new DomainError(refusal.code, refusal.message);
  return b;
}

export interface ListBatchFilter {
  status?: BatchStatus;
  type?: BatchType;
}

/** Newest first. */
export async function listBatches(
  filter: ListBatchFilter,
  limit: number,
  cursor?: string,
): Promise<{ items: Batch[]; nextCursor?: string }> {
  // GSI1 carries keys only: the batches are filtered once read, a page of index entries at a time.
  const wanted = (b: Batch) =>
    (!filter.status || b.status === filter.status) && (!filter.type || b.type === filter.type);
  const items: Batch[] = [];
  let start = decodeCursor(cursor, isStringRecord) as Item | undefined;
  do {
    const res = await queryIndexItems({
      TableName: clients.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :p',
      ScanIndexForward: false,
      ExpressionAttributeValues: { ':p': keys.batchesIndexKey },
      Limit: limit - items.length,
      ExclusiveStartKey: start,
    });
    items.push(...res.Items.map(toBatch).filter(wanted));
    start = res.LastEvaluatedKey;
  } while (start && items.length < limit);
  return start ? { items, nextCursor: encodeCursor(start) } : { items };
}

export interface TransitionPatch {
  lastError?: Batch['lastError'] | null;
  execution?: { action: string; arn: string };
  /** A workflow's recount, written by the transition that ends its stage so a late attempt cannot overwrite it. */
  counts?: Batch['counts'];
  progress?: Batch['progress'];
  lockedBy?: string;
  /** The workflow start this change asks for, cleared by recordExecution once it is known to run. */
  pendingStart?: PendingStart;
  /** Only while the batch's start is still pending (undoing a start that failed). */
  whilePending?: boolean;
  /** Marks (true) or clears (false) a cancel waiting for its revert to finish. */
  cancelRequested?: boolean;
  /** The audit entry of this transition, written in the same transaction: it lands exactly when the move does. */
  log?: LogEntry;
}

/**
 * Moves a batch along the status machine: a conditional write on status (and version when
 * given). Anything else is refused INVALID_TRANSITION and nothing changes.
 */
export async function transitionBatch(
  batchId: string,
  from: readonly BatchStatus[],
  to: BatchStatus,
  now: string,
  patch: TransitionPatch = {},
  expectedVersion?: number,
): Promise<Batch> {
  const names: Record<string, string> = { '#status': 'status', '#version': 'version' };
  const values: Record<string, unknown> = { ':to': to, ':now': now, ':one': 1 };
  for (const [i, s] of from.entries()) values[`:from${i}`] = s;
  const sets = ['#status = :to', 'updatedAt = :now'];
  const removes: string[] = [];
  if (patch.lastError === null) removes.push('lastError');
  else if (patch.lastError) {
    sets.push('lastError = :err');
    values[':err'] = patch.lastError;
  }
  if (patch.counts) {
    sets.push('counts = :counts');
    values[':counts'] = patch.counts;
  }
  if (patch.progress) {
    sets.push('progress = :progress');
    values[':progress'] = patch.progress;
  }
  if (patch.lockedBy !== undefined) {
    sets.push('lockedBy = :lockedBy');
    values[':lockedBy'] = patch.lockedBy;
  }
  if (patch.execution) {
    sets.push('executions.#action = :arn');
    names['#action'] = patch.execution.action;
    values[':arn'] = patch.execution.arn;
  }
  if (patch.cancelRequested === true) sets.push('cancelRequested = :true');
  if (patch.cancelRequested === true) values[':true'] = true;
  if (patch.cancelRequested === false) removes.push('cancelRequested');
  if (patch.pendingStart) {
    sets.push('pendingStart = :pending');
    values[':pending'] = patch.pendingStart;
  }
  let condition = `#status IN (${from.map((_, i) => `:from${i}`).join(', ')})`;
  if (patch.whilePending) {
    condition += ' AND attribute_exists(pendingStart)';
    removes.push('pendingStart');
  }
  if (expectedVersion !== undefined) {
    condition += ' AND #version = :v';
    values[':v'] = expectedVersion;
  }
  const update = {
    TableName: clients.tableName,
    Key: keys.batch(batchId),
    UpdateExpression: `SET ${sets.join(', ')} ADD #version :one${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ConditionExpression: `attribute_exists(PK) AND ${condition}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
  const refused = (current: string | undefined) =>
    current
      ? new DomainError('INVALID_TRANSITION', `batch ${batchId} is ${current}; it cannot become ${to}`)
      : new DomainError('NOT_FOUND', `batch ${batchId} was not found`);
  if (patch.log) {
    const intents = [intent('batch', { Update: update }), intent('log', logEntryPut(batchId, patch.log))];
    try {
      // A request racing another on the batch (two locks at once) may be cancelled by contention
      // alone: nothing applied, so it is sent again and meets the condition the winner left.
      await transact(intents);
    } catch (err) {
      if (refusals(err, intents)?.has('batch')) throw refused((await getBatch(batchId))?.status);
      throw err;
    }
    return requireBatch(batchId);
  }
  try {
    const res = await clients.dynamo.send(
      new UpdateCommand({ ...update, ReturnValues: 'ALL_NEW', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
    );
    return toBatch(res.Attributes!);
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    throw refused(err.Item?.status?.S);
  }
}

/** Sets every counter to zero and progress to none: a cancelled batch holds and did nothing. */
export async function resetCounts(batchId: string, now: string): Promise<void> {
  await clients.dynamo.send(
    new UpdateCommand({
      TableName: clients.tableName,
      Key: keys.batch(batchId),
      UpdateExpression: 'SET counts = :zero, progress = :none, updatedAt = :now',
      ConditionExpression: '#status = :cancelled',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':zero': zeroCounts,
        ':none': { done: 0, total: 0 },
        ':now': now,
        ':cancelled': 'CANCELLED',
      },
    }),
  );
}

/** Adds to the batch's counters (negative to subtract). */
export async function addCounts(
  batchId: string,
  delta: Partial<Record<keyof Batch['counts'], number>>,
  now: string,
  /** Only while the batch is in one of these; otherwise nothing (the stage that moved it recounts). */
  onlyIn?: readonly BatchStatus[],
): Promise<void> {
  const entries = Object.entries(delta).filter(([, n]) => n !== 0);
  if (entries.length === 0) return;
  const statuses = Object.fromEntries((onlyIn ?? []).map((st, i) => [`:s${i}`, st]));
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: `ADD ${entries.map((_, i) => `counts.#c${i} :n${i}`).join(', ')} SET updatedAt = :now`,
        ...(onlyIn ? { ConditionExpression: `#status IN (${Object.keys(statuses).join(', ')})` } : {}),
        ExpressionAttributeNames: {
          ...Object.fromEntries(entries.map(([k], i) => [`#c${i}`, k])),
          ...(onlyIn ? { '#status': 'status' } : {}),
        },
        ExpressionAttributeValues: {
          ...Object.fromEntries(entries.map(([, n], i) => [`:n${i}`, n])),
          ':now': now,
          ...statuses,
        },
      }),
    );
  } catch (err) {
    if (!onlyIn || !isConditionFailure(err)) throw err;
  }
}

const toLastError = (e: Item): NonNullable<Batch['lastError']> => ({
  code: storedErrorCode(e.code),
  message: String(e.message ?? ''),
  at: String(e.at ?? ''),
});

/** A replacement event as stored, on its original's member item or an item of its own. */
export function toPendingReplacement(it: Item): PendingReplacement {
  return pendingReplacementOf(readItem(it, 'pending replacement', 'eventId'));
}

function pendingReplacementOf(r: ItemReader): PendingReplacement {
  const parentEventId = r.optionalString('parentEventId');
  return {
    eventId: r.string('eventId'),
    subscriptionId: r.string('subscriptionId'),
    productId: r.string('productId'),
    quantity: r.bigint('quantity'),
    occurredAt: r.string('occurredAt'),
    ...(parentEventId ? { parentEventId } : {}),
    ...(r.has('attributes') ? { attributes: r.stringMap('attributes') } : {}),
    replaces: r.string('replaces'),
    register: r.string('register'),
  };
}

export function toMember(item: Item): BatchMember {
  const r = readItem(item, 'batch member', 'eventId');
  const errorMessage = r.optionalString('errorMessage');
  return {
    eventId: r.string('eventId'),
    role: r.oneOf('role', MEMBER_ROLES),
    state: r.oneOf('state', MEMBER_STATES),
    subscriptionId: r.string('subscriptionId'),
    register: r.string('register'),
    occurredAt: r.string('occurredAt'),
    ...(item.errorCode ? { errorCode: storedErrorCode(item.errorCode) } : {}),
    ...(errorMessage ? { errorMessage } : {}),
    ...(isRelatedReason(item.relatedReason) ? { relatedReason: item.relatedReason } : {}),
    ...(r.has('replacements') ? { replacements: r.stringList('replacements') } : {}),
    ...(r.has('replacementKeys') ? { replacementKeys: r.stringList('replacementKeys') } : {}),
    ...(r.has('replacementEvents')
      ? {
          replacementEvents: r.nestedList('replacementEvents').map(pendingReplacementOf),
        }
      : {}),
    addedAt: r.string('addedAt'),
  };
}

export interface MemberFilter {
  state?: BatchMember['state'];
  errorCode?: ErrorCode;
}

/** One page of members, in event id order. */
export async function listMembers(
  batchId: string,
  filter: MemberFilter,
  limit: number,
  cursor?: string,
): Promise<{ items: BatchMember[]; nextCursor?: string }> {
  const filters: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (filter.state) {
    filters.push('#state = :state');
    names['#state'] = 'state';
    values[':state'] = filter.state;
  }
  if (filter.errorCode) {
    filters.push('errorCode = :code');
    values[':code'] = filter.errorCode;
  }
  const items: BatchMember[] = [];
  let start = decodeCursor(cursor, isStringRecord) as Item | undefined;
  do {
    const res = await queryPrefix({
      pk: keys.batchPartition(batchId),
      prefix: keys.batchMemberPrefix,
      filter: filters.length ? { expression: filters.join(' AND '), names, values } : undefined,
      limit: Math.max(limit - items.length, 50),
      start,
    });
    for (const item of res.Items ?? []) {
      items.push(toMember(item));
      if (items.length === limit) {
        const last = { PK: item.PK as string, SK: item.SK as string };
        return { items, nextCursor: encodeCursor(last) };
      }
    }
    start = res.LastEvaluatedKey;
  } while (start);
  return { items };
}

/** Every member (workflows page through these; they never travel in a payload). */
export async function* allMembers(batchId: string): AsyncGenerator<BatchMember[]> {
  let cursor: string | undefined;
  do {
    const page = await listMembers(batchId, {}, 1000, cursor);
    if (page.items.length) yield page.items;
    cursor = page.nextCursor;
  } while (cursor);
}

/**
 * Closes every edit gate (from here on no add can commit, so a paging of members sees them all)
 * and logs it once per `logKey`, only while the batch is at `stage`: a late attempt cannot close
 * the gates of a batch that moved on (reverted, edits open again).
 */
export async function closeGates(batchId: string, stage: BatchStage, logKey: string, entry: LogEntry): Promise<void> {
  // Refused by the log's marker: an earlier try closed them in this stage, and they stay closed while it lasts.
  await writeInStage(batchId, stage, [
    ...keys.batchGates(batchId).map((Key) => ({
      Put: { TableName: clients.tableName, Item: { ...Key, itemType: 'BATCH_GATE', closedAt: entry.at } },
    })),
    ...logOnceItems(batchId, logKey, entry),
  ]);
}

/**
 * The edit gate of the batch that `id` (an event's id, a partition's key) falls in is still open:
 * an add checks one gate, not the batch item, so concurrent adds do not contend; locking closes
 * every gate first.
 */
export function gateOpen(batchId: string, id: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.batchGate(batchId, id),
      ConditionExpression: 'attribute_not_exists(closedAt)',
    },
  };
}

/** Reopens edits, only while the batch is at `stage`: a late attempt cannot open a batch that moved on. */
export async function openGates(batchId: string, stage: BatchStage): Promise<void> {
  await writeInStage(
    batchId,
    stage,
    keys.batchGates(batchId).map((Key) => ({ Delete: { TableName: clients.tableName, Key } })),
  );
}

export async function getMembers(batchId: string, eventIds: readonly string[]): Promise<BatchMember[]> {
  return (await batchGet(eventIds.map((id) => keys.batchMember(batchId, id)))).map(toMember);
}

/**
 * Marks a member failed validation (ERROR) or processing (FAILED), with the code that says why, or
 * HELD again; only while the batch is at `stage` (a late attempt cannot mark the member of a batch
 * that moved on).
 */
export async function setMemberState(
  batchId: string,
  eventId: string,
  state: BatchMember['state'],
  stage: BatchStage,
  error?: { code: ErrorCode; message: string },
): Promise<void> {
  await writeInStage(batchId, stage, [
    {
      Update: {
        TableName: clients.tableName,
        Key: keys.batchMember(batchId, eventId),
        UpdateExpression: error
          ? 'SET #state = :s, errorCode = :c, errorMessage = :m'
          : 'SET #state = :s REMOVE errorCode, errorMessage',
        // A member removed meanwhile is not written back (false: nothing to mark).
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':s': state,
          ...(error ? { ':c': error.code, ':m': error.message.slice(0, 500) } : {}),
        },
      },
    },
  ]);
}

export interface SubmitPlan {
  shards: number;
  partitions: number;
}

/**
 * Stores how submit split the batch, so every shard works from the same plan, with its log entry;
 * only while PROCESSING and only once: a retry (or a late attempt) gets the plan in force.
 */
export async function savePlan(batchId: string, plan: SubmitPlan, entry: LogEntry): Promise<SubmitPlan> {
  const intents = [
    intent('batch', {
      Update: {
        TableName: clients.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: 'SET #plan = :p',
        ConditionExpression: '#status = :processing AND attribute_not_exists(#plan)',
        ExpressionAttributeNames: { '#plan': 'plan', '#status': 'status' },
        ExpressionAttributeValues: { ':p': plan, ':processing': 'PROCESSING' },
      },
    }),
    intent('log', logEntryPut(batchId, entry)),
  ];
  try {
    await transact(intents, { once: true });
    return plan;
  } catch (err) {
    if (!refusals(err, intents)?.has('batch')) throw err;
    if ((await requireBatch(batchId)).status !== 'PROCESSING') throw stageOver(batchId, { status: 'PROCESSING' });
    return getPlan(batchId);
  }
}

export async function getPlan(batchId: string): Promise<SubmitPlan> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.batch(batchId),
      ConsistentRead: true,
      ProjectionExpression: '#plan',
      ExpressionAttributeNames: { '#plan': 'plan' },
    }),
  );
  const plan = res.Item?.plan as { shards: bigint; partitions: bigint } | undefined;
  if (!plan) throw new Error(`batch ${batchId} has no submit plan`);
  return { shards: Number(plan.shards), partitions: Number(plan.partitions) };
}

/** Records the execution an action started (ops find it from the batch). */
/** Records a started execution; the start it confirms (same execution name) is no longer pending. */
export async function recordExecution(batchId: string, action: string, arn: string, name?: string): Promise<void> {
  await clients.dynamo.send(
    new UpdateCommand({
      TableName: clients.tableName,
      Key: keys.batch(batchId),
      UpdateExpression: 'SET executions.#a = :arn',
      ExpressionAttributeNames: { '#a': action },
      ExpressionAttributeValues: { ':arn': arn },
    }),
  );
  if (name === undefined) return;
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: 'REMOVE pendingStart',
        // A later action's pending start is not this one's to clear.
        ConditionExpression: 'pendingStart.#n = :name',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: { ':name': name },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/**
 * Shows why a workflow stopped without moving the batch (a failed revert may be asked again), only
 * while the batch is still at `stage`: refused (stageOver) once it has moved on, so a late attempt
 * cannot show its error on a batch that a later action moved.
 */
export async function setLastError(
  batchId: string,
  error: NonNullable<Batch['lastError']>,
  stage: BatchStage,
): Promise<void> {
  const check = batchStageCheck(batchId, stage).ConditionCheck!;
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.batch(batchId),
        UpdateExpression: 'SET lastError = :e',
        ConditionExpression: check.ConditionExpression,
        ExpressionAttributeNames: check.ExpressionAttributeNames,
        ExpressionAttributeValues: { ...check.ExpressionAttributeValues, ':e': error },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw stageOver(batchId, stage);
    throw err;
  }
}

/** Strongly consistent read of many batches; missing ids are absent from the result. */
export async function getBatches(batchIds: readonly string[]): Promise<Batch[]> {
  return (await batchGet([...new Set(batchIds)].map((b) => keys.batch(b)))).map(toBatch);
}

export interface EventBatches {
  /** Newest first: the batch and the event's member item in it. */
  items: Array<{ batch: Batch; member: BatchMember }>;
  /** More batches took the event than `limit`. */
  more: boolean;
}

/**
 * The batches that took each event (its `touchedBy`), newest first, at most `limit` each: one
 * batch read of their batch and member items, never a scan or a query.
 */
export async function batchesOfEvents(
  events: ReadonlyArray<{ eventId: string; touchedBy?: readonly string[] }>,
  limit: number,
): Promise<Map<string, EventBatches>> {
  const pairs = events.flatMap((e) => (e.touchedBy ?? []).map((batchId) => ({ eventId: e.eventId, batchId })));
  const read = await batchGet([
    ...[...new Set(pairs.map((p) => p.batchId))].map((b) => keys.batch(b)),
    ...pairs.map((p) => keys.batchMember(p.batchId, p.eventId)),
  ]);
  const batches = new Map(
    read.filter((it) => it.itemType === 'BATCH').map((it) => [it.batchId as string, toBatch(it)]),
  );
  const members = new Map(
    read
      .filter((it) => it.itemType === 'BATCH_MEMBER')
      .map((it) => [`${it.PK as string}|${it.eventId as string}`, toMember(it)]),
  );
  return new Map(
    events.map((e) => {
      const items = (e.touchedBy ?? []).flatMap((batchId) => {
        const batch = batches.get(batchId);
        const member = members.get(`${keys.batchPartition(batchId)}|${e.eventId}`);
        return batch && member ? [{ batch, member }] : [];
      });
      items.sort((a, b) => (a.member.addedAt < b.member.addedAt ? 1 : a.member.addedAt > b.member.addedAt ? -1 : 0));
      return [e.eventId, { items: items.slice(0, limit), more: items.length > limit }];
    }),
  );
}
