// Over 350 lines: holds, selection queries and replacements share the hold transaction;
// replacements are the next seam to split.
// Holding and releasing events for a batch. The guard that keeps an event in at most one open
// batch is one conditional write on the event item (`heldBy` absent), made in the same
// transaction as the member item and a check that the batch still accepts edits.
import { createHash } from 'node:crypto';
import type { CancellationReason } from '@aws-sdk/client-dynamodb';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  daysOf,
  eligibilityRefusal,
  eligibleStatuses,
  type Batch,
  type BatchMember,
  type MemberRole,
  type PendingReplacement,
  type RelatedReason,
  type SelectionCriteria,
} from '../domain/batch';
import { DomainError, type ErrorCode, type Refusal } from '../domain/errors';
import { registersOf } from '../domain/subscription';
import { contentFingerprint, type NewUsageEvent, type UsageEvent } from '../domain/usage-event';
import { batchGet } from './batch-get';
import { batchStageCheck, gateOpen, stageOver, toPendingReplacement, type BatchStage } from './batches';
import { clients } from './clients';
import { queryAll, queryPrefix } from './query-all';
import { mapLimit } from './concurrency';
import { decodeCursor, encodeCursor, isStringRecord } from './cursor';
import { fromWire, isConditionFailure } from './errors';
import { writeGrouped, type TransactItem } from './grouped-transactions';
import { intent, refusals, transact } from './intents';
import { DAY_SHARDS, eventIdOfKey, keys } from './keys';
import { claimedElsewhere, confirmedClaimWrite } from './claims-for-originals';
import { claimCheck, claimedBy } from './selections';
import { getSubscription } from './subscriptions';
import { childEventIds, getEvents, toUsageEvent, withReplacementsListedVia } from './usage-events';
import { compareEvents } from '../domain/rating';

type Item = Record<string, unknown>;

/** An event a hold refused, and why; the message may be left to the code's words. */
export interface HoldRefusal extends Omit<Refusal, 'message'> {
  eventId: string;
  message?: string;
}

export interface HoldResult {
  added: string[];
  /** Already members of this batch: adding again is a no-op. */
  already: string[];
  rejected: HoldRefusal[];
}

const CONCURRENCY = 16;

/**
 * Every hold also adds the batch to the event's `touchedBy`, in the same update, so the lineage
 * reads the batches that took an event from the event itself: no extra item, index entry or
 * transaction item, about 40 bytes on the event per batch. Releasing a member takes it out again.
 */
const touch = 'ADD touchedBy :touched';
const touchValue = (batchId: string) => ({ ':touched': new Set([batchId]) });

function holdUpdate(batch: Batch, eventId: string, now: string): TransactItem {
  const statuses = eligibleStatuses(batch.type);
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.event(eventId),
      UpdateExpression: `SET heldBy = :b, heldAt = :now ${touch}`,
      ConditionExpression: `attribute_exists(PK) AND attribute_not_exists(heldBy) AND #status IN (${statuses.map((_, i) => `:e${i}`).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':b': batch.batchId,
        ':now': now,
        ...touchValue(batch.batchId),
        ...Object.fromEntries(statuses.map((s, i) => [`:e${i}`, s])),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

function memberItem(batchId: string, e: UsageEvent, role: MemberRole, now: string, extra: Item = {}): Item {
  return {
    ...keys.batchMember(batchId, e.eventId),
    itemType: 'BATCH_MEMBER',
    eventId: e.eventId,
    role,
    state: 'HELD',
    subscriptionId: e.subscriptionId,
    register: e.register,
    occurredAt: e.occurredAt,
    addedAt: now,
    ...extra,
  };
}

type Outcome = 'added' | 'already' | { code: ErrorCode; message?: string };

/** Why an event's hold was refused, from its cancellation reason (the event as it was). */
function refusalOf(batch: Batch, reason: CancellationReason): Outcome {
  const selected = claimedBy(reason);
  if (selected) return selectedElsewhere(selected);
  if (!reason.Item) return { code: 'EVENT_NOT_FOUND' };
  const current = toUsageEvent(fromWire(reason.Item));
  if (current.heldBy === batch.batchId) return 'already';
  return { code: eligibilityRefusal(batch.type, current, batch.batchId) ?? 'EVENT_HELD_BY_OTHER_BATCH' };
}

/** An event of a partition another batch selected whole is refused as if that batch held it. */
export const selectedElsewhere = (batchId: string) => ({
  code: 'EVENT_HELD_BY_OTHER_BATCH' as const,
  message: `its partition (subscription and register) is selected by batch ${batchId}`,
});

/**
 * The claim of the event's partition, checked once per transaction for all its events there: no
 * other batch selected the partition whole.
 */
const claimOf = (batchId: string, e: Pick<UsageEvent, 'subscriptionId' | 'register'>) => ({
  key: `${e.subscriptionId}#${e.register}`,
  item: claimCheck(batchId, e.subscriptionId, e.register),
});

/** The batch's confirmed claim of the original's partition, written once per transaction for its originals there. */
const confirmedClaimOf = (batchId: string, e: Pick<UsageEvent, 'subscriptionId' | 'register'>) => ({
  key: `${e.subscriptionId}#${e.register}`,
  item: confirmedClaimWrite(batchId, e.subscriptionId, e.register),
});

/** Events in partition order, so a transaction checks as few claims as it can. */
const byPartition = <T>(items: readonly T[], eventOf: (x: T) => UsageEvent): T[] =>
  [...items].sort((a, b) => {
    const [x, y] = [eventOf(a), eventOf(b)];
    const kx = `${x.subscriptionId}#${x.register}`;
    const ky = `${y.subscriptionId}#${y.register}`;
    return kx < ky ? -1 : kx > ky ? 1 : 0;
  });

export const editsClosed = (batch: Batch) =>
  new DomainError('INVALID_TRANSITION', `batch ${batch.batchId} no longer accepts edits`);

/** True when `err` is the gate's refusal (a lock began meanwhile); any other error goes on up. */
function gateClosed(err: unknown): true {
  if (!(err instanceof DomainError && err.code === 'INVALID_TRANSITION')) throw err;
  return true;
}

/** What an add answers for an event or original a closed gate refused. */
export const closedBeforeHeld = (what: 'event' | 'original') => ({
  code: 'INVALID_TRANSITION' as const,
  message: `the batch closed for edits (a lock began) before this ${what} was held`,
});

/** Events per hold transaction: 2 items each and the gate, well within the item limit. */
const HOLD_GROUP = 16;

/**
 * Holds events for a batch (DRAFT only). Parents bring their children. Each event lands or is
 * rejected with its code; racing batches cannot both hold an event.
 */
export async function holdEvents(
  batch: Batch,
  eventIds: readonly string[],
  now: string,
  role: MemberRole = 'MEMBER',
  depth = 0,
): Promise<HoldResult> {
  const result: HoldResult = { added: [], already: [], rejected: [] };
  const found = new Map((await getEvents(eventIds)).map((e) => [e.eventId, e]));
  const toHold: UsageEvent[] = [];
  const refusedEarly: Array<{ event: UsageEvent; code: ErrorCode }> = [];
  for (const eventId of new Set(eventIds)) {
    const event = found.get(eventId);
    const early =
      event && event.heldBy !== batch.batchId ? eligibilityRefusal(batch.type, event, batch.batchId) : undefined;
    if (!event) result.rejected.push({ eventId, code: 'EVENT_NOT_FOUND' });
    else if (event.heldBy === batch.batchId) result.already.push(eventId);
    else if (early) refusedEarly.push({ event, code: early });
    else toHold.push(event);
  }
  // Held by another batch comes first, and a batch that claims the partition holds its events.
  const claimed = await claimedElsewhere(
    batch.batchId,
    refusedEarly.filter((r) => r.event.heldBy === undefined).map((r) => r.event),
  );
  for (const { event, code } of refusedEarly) {
    const by = claimed.get(event.eventId);
    result.rejected.push({ eventId: event.eventId, ...(by ? selectedElsewhere(by) : { code }) });
  }
  // Each event's conditional hold and member item, and one check of a gate per transaction:
  // a gate closed by lock refuses the whole write.
  const sorted = byPartition(toHold, (e) => e);
  const groups = Array.from({ length: Math.ceil(sorted.length / HOLD_GROUP) }, (_, g) =>
    sorted.slice(g * HOLD_GROUP, g * HOLD_GROUP + HOLD_GROUP),
  );
  // A lock may close the gates while the groups are written: the groups written before stay (and
  // are answered and logged as added), the rest are refused; with none written, nothing changed.
  let closed = false;
  await mapLimit(groups, CONCURRENCY / 4, async (group) => {
    let refused: Map<UsageEvent, CancellationReason>;
    try {
      refused = await writeGrouped(
        group,
        {
          itemsOf: (e) => [
            holdUpdate(batch, e.eventId, now),
            { Put: { TableName: clients.tableName, Item: memberItem(batch.batchId, e, role, now) } },
          ],
          keyedOf: (e) => claimOf(batch.batchId, e),
          shared: (entries) => [gateOpen(batch.batchId, entries[0]!.eventId)],
          sharedRefused: () => editsClosed(batch),
        },
        HOLD_GROUP,
      );
    } catch (err) {
      closed = gateClosed(err);
      for (const e of group) result.rejected.push({ eventId: e.eventId, ...closedBeforeHeld('event') });
      return;
    }
    for (const e of group) {
      const reason = refused.get(e);
      const outcome = reason ? refusalOf(batch, reason) : 'added';
      if (outcome === 'added') result.added.push(e.eventId);
      else if (outcome === 'already') result.already.push(e.eventId);
      else result.rejected.push({ eventId: e.eventId, ...outcome });
    }
  });
  if (closed && result.added.length === 0 && depth === 0) throw editsClosed(batch);
  // A parent brings its children (and theirs): they are corrected together.
  const parents = result.added.filter((id) => (found.get(id)?.childCount ?? 0) > 0);
  if (parents.length > 0 && depth < 3) {
    const children = (await mapLimit(parents, CONCURRENCY, childEventIds)).flat().filter((id) => !found.has(id));
    if (children.length > 0) {
      const more = await holdEvents(batch, children, now, 'CHILD', depth + 1);
      result.added.push(...more.added);
      result.already.push(...more.already);
      result.rejected.push(...more.rejected);
    }
  }
  return result;
}

/** Releases members: the event forgets the batch and the member item goes, in one transaction. */
export async function releaseMembers(
  batch: Batch,
  members: readonly BatchMember[],
  /** The stage the batch must still be in: its status, and its version where the caller knows it. */
  stage: BatchStage,
): Promise<number> {
  let removed = 0;
  await mapLimit(members, CONCURRENCY, async (m) => {
    const intents = [
      intent('event', {
        Update: {
          TableName: clients.tableName,
          Key: keys.event(m.eventId),
          UpdateExpression: 'REMOVE heldBy, heldAt, lockedBy DELETE touchedBy :touched',
          ConditionExpression: 'attribute_not_exists(heldBy) OR heldBy = :b',
          ExpressionAttributeValues: { ':b': batch.batchId, ...touchValue(batch.batchId) },
        },
      }),
      intent('member', { Delete: { TableName: clients.tableName, Key: keys.batchMember(batch.batchId, m.eventId) } }),
      ...(m.replacementKeys ?? []).map((SK) =>
        intent('replacement', {
          Delete: { TableName: clients.tableName, Key: { PK: keys.batchPartition(batch.batchId), SK } },
        }),
      ),
      intent('stage', batchStageCheck(batch.batchId, stage)),
    ];
    try {
      await transact(intents);
      removed++;
    } catch (err) {
      if (refusals(err, intents)?.has('stage'))
        throw new DomainError('INVALID_TRANSITION', `batch ${batch.batchId} no longer accepts edits`);
      throw err;
    }
  });
  return removed;
}

/**
 * Releases one event the batch holds, leaving its member item (submit, for events the rating left
 * unchanged). False: the batch no longer holds it (released already, or never held).
 */
export async function releaseHeldEvent(batchId: string, eventId: string): Promise<boolean> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.event(eventId),
        UpdateExpression: 'REMOVE heldBy, heldAt',
        ConditionExpression: 'heldBy = :b',
        ExpressionAttributeValues: { ':b': batchId },
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    return false;
  }
}

/** Related events per hold transaction (2 items each, and the stage check). */
const RELATED_GROUP = 25;

/**
 * Holds events the batch changes without having been asked to (later events of a partition,
 * children of a reversed parent), many per transaction, while the batch is at `stage`. Returns
 * those another open batch holds.
 */
export async function holdRelated(
  batch: Batch,
  events: readonly UsageEvent[],
  reason: RelatedReason,
  stage: BatchStage,
  now: string,
  role: 'RELATED' | 'CHILD' = 'RELATED',
): Promise<Set<UsageEvent>> {
  const refused = await writeGrouped(
    byPartition(events, (e) => e),
    {
      keyedOf: (e) => claimOf(batch.batchId, e),
      itemsOf: (e) => [
        {
          Update: {
            TableName: clients.tableName,
            Key: keys.event(e.eventId),
            UpdateExpression: `SET heldBy = :b, heldAt = :now ${touch}`,
            ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(heldBy) OR heldBy = :b)',
            ExpressionAttributeValues: { ':b': batch.batchId, ':now': now, ...touchValue(batch.batchId) },
          },
        },
        {
          Put: {
            TableName: clients.tableName,
            Item: memberItem(batch.batchId, e, role, now, { relatedReason: reason }),
          },
        },
      ],
      // A lock attempt that timed out may land this after the batch finished and released its holds.
      shared: () => [batchStageCheck(batch.batchId, stage)],
      sharedRefused: () => stageOver(batch.batchId, stage),
    },
    RELATED_GROUP,
  );
  return new Set(refused.keys());
}

// ---- selection by criteria ---------------------------------------------------------------------

interface Source {
  index: 'GSI1' | 'GSI3';
  pk: string;
  from?: string;
  to?: string;
}

interface SelectionPosition {
  i: number;
  k?: Record<string, string>;
}

const isSelectionPosition = (v: unknown): v is SelectionPosition =>
  typeof v === 'object' && v !== null && typeof (v as SelectionPosition).i === 'number';

/** The partitions (subscription, register) criteria that name subscriptions reach; NOT_FOUND for an unknown one. */
export async function partitionsOf(
  c: SelectionCriteria & { subscriptionIds: readonly string[] },
): Promise<Array<{ subscriptionId: string; register: string }>> {
  const partitions: Array<{ subscriptionId: string; register: string }> = [];
  for (const id of c.subscriptionIds) {
    const sub = await getSubscription(id);
    if (!sub)
      throw new DomainError('NOT_FOUND', `subscription ${id} was not found`, [
        { path: 'body.criteria.subscriptionIds', code: 'NOT_FOUND', message: id },
      ]);
    const registers = c.productId
      ? [sub.products[c.productId]?.register].filter((r): r is string => !!r)
      : registersOf(sub);
    for (const register of registers) partitions.push({ subscriptionId: id, register });
  }
  return partitions;
}

async function sourcesFor(c: SelectionCriteria): Promise<Source[]> {
  if (c.subscriptionIds?.length) {
    return (await partitionsOf({ ...c, subscriptionIds: c.subscriptionIds })).map((p) => ({
      index: 'GSI1',
      pk: keys.partitionIndexKey(p.subscriptionId, p.register),
      ...(c.from ? { from: c.from } : {}),
      ...(c.to ? { to: c.to } : {}),
    }));
  }
  return daysOf(c.from!, c.to!).flatMap((day) =>
    Array.from(
      { length: DAY_SHARDS },
      (_, shard): Source => ({ index: 'GSI3', pk: keys.dayIndexKey(day, shard), from: c.from!, to: c.to! }),
    ),
  );
}

/**
 * One page of the events a selection matches (at most `limit`), in a stable order, with the
 * cursor of the next page. Time windows are [from, to).
 */
export async function selectEvents(
  c: SelectionCriteria,
  statuses: readonly string[],
  limit: number,
  cursor?: string,
): Promise<{ events: UsageEvent[]; nextCursor?: string }> {
  const sources = await sourcesFor(c);
  const pos = decodeCursor(cursor, isSelectionPosition) ?? { i: 0 };
  const events: UsageEvent[] = [];
  let { i, k } = pos;
  while (i < sources.length) {
    const src = sources[i]!;
    const sk = src.index === 'GSI1' ? 'GSI1SK' : 'GSI3SK';
    const values: Record<string, unknown> = { ':pk': src.pk };
    let range = '';
    if (src.from && src.to) range = ` AND ${sk} BETWEEN :from AND :to`;
    else if (src.from) range = ` AND ${sk} >= :from`;
    else if (src.to) range = ` AND ${sk} < :to`;
    if (src.from) values[':from'] = src.from;
    if (src.to) values[':to'] = src.to;
    const res = await clients.dynamo.send(
      new QueryCommand({
        TableName: clients.tableName,
        IndexName: src.index,
        KeyConditionExpression: `${src.index}PK = :pk${range}`,
        ExpressionAttributeValues: values,
        Limit: limit - events.length,
        ExclusiveStartKey: k,
      }),
    );
    // Both indexes carry keys only: read the events themselves, and those listed through them.
    const page = await withReplacementsListedVia(await getEvents((res.Items ?? []).map((it) => eventIdOfKey(it.PK))));
    page.sort(compareEvents);
    events.push(...page.filter((e) => statuses.includes(e.status) && (!c.productId || e.productId === c.productId)));
    k = res.LastEvaluatedKey as Record<string, string> | undefined;
    if (!k) {
      i++;
    }
    if (events.length >= limit || (k && (res.Items ?? []).length >= limit)) break;
  }
  return i < sources.length ? { events, nextCursor: encodeCursor({ i, k }) } : { events };
}

// ---- replacements ------------------------------------------------------------------------------

export interface ReplacementRequest {
  originalEventId: string;
  events: unknown[];
}

/** A replacement request refused: its original, the replacement's index and id where known. */
export interface ReplacementRefusal extends Refusal {
  originalEventId: string;
  index?: number;
  eventId?: string;
}

/** An original with its replacement events, checked (by the batches service) and ready to hold. */
export interface PreparedReplacement {
  original: UsageEvent;
  parsed: Array<NewUsageEvent & { register: string }>;
}

/**
 * Holds each original for a REVERSE_REPLACE batch together with its replacement events, which
 * wait in the batch until submit inserts them. `parsed: []` reverses without replacement.
 * Idempotent per original: the same replacements again are `already` (a retried request or a
 * re-run CSV import changes nothing); other replacements for an original that has some are refused.
 */
export async function holdReplacements(
  batch: Batch,
  ready: readonly PreparedReplacement[],
  now: string,
  /** Originals of partitions the batch claims (confirmed): a member item each, no hold. */
  claimed: readonly PreparedReplacement[] = [],
): Promise<{
  added: number;
  already: string[];
  replacements: number;
  newMembers: number;
  rejected: ReplacementRefusal[];
}> {
  const rejected: ReplacementRefusal[] = [];
  let added = 0;
  const already: string[] = [];
  let replacements = 0;
  let newMembers = 0;
  const record = (p: PreparedReplacement, outcome: ReplacementOutcome) => {
    if (outcome === 'new' || outcome === 'attached') {
      added++;
      replacements += p.parsed.length;
      if (outcome === 'new') newMembers++;
    } else if (outcome === 'already') already.push(p.original.eventId);
    else
      rejected.push({
        originalEventId: p.original.eventId,
        code: outcome.code,
        message: outcome.message ?? `the original cannot be reversed (${outcome.code})`,
      });
  };
  // The common case, originals not held yet, goes many to a transaction; any an own condition
  // refuses (held meanwhile, a member already there, an id taken) is decided one by one below.
  const groupsOf = (originals: readonly PreparedReplacement[], claimed: boolean) => {
    const sorted = byPartition(originals, (p) => p.original);
    const size = groupSize(claimed);
    return Array.from({ length: Math.ceil(sorted.length / size) }, (_, g) => ({
      g: sorted.slice(g * size, (g + 1) * size),
      claimed,
    }));
  };
  const groups = [
    ...groupsOf(
      ready.filter((p) => p.original.heldBy === undefined),
      false,
    ),
    ...groupsOf(claimed, true),
  ];
  const slow = ready.filter((p) => p.original.heldBy !== undefined).map((p) => ({ p, claimed: false }));
  // A lock may close the gates while the groups are written: what was written before stays (and
  // is answered and logged as added), the rest is refused; with nothing written, nothing changed.
  let closed = false;
  const refuseClosed = (err: unknown, originals: readonly PreparedReplacement[]) => {
    closed = gateClosed(err);
    for (const p of originals) record(p, closedBeforeHeld('original'));
  };
  await mapLimit(groups, CONCURRENCY / 4, async ({ g: group, claimed }) => {
    let refused: Map<PreparedReplacement, CancellationReason>;
    try {
      refused = await writeGrouped(
        group,
        {
          itemsOf: (p) => {
            const w = replacementWrite(batch, p.original, p.parsed, now);
            return claimed ? [w.newMember, ...w.filed] : [w.hold, w.newMember, ...w.filed];
          },
          keyedOf: (p) => (claimed ? confirmedClaimOf(batch.batchId, p.original) : claimOf(batch.batchId, p.original)),
          shared: (entries) => [gateOpen(batch.batchId, entries[0]!.original.eventId)],
          sharedRefused: () => editsClosed(batch),
        },
        groupSize(claimed),
      );
    } catch (err) {
      return refuseClosed(err, group);
    }
    for (const p of group) refused.has(p) ? slow.push({ p, claimed }) : record(p, 'new');
  });
  await mapLimit(slow, CONCURRENCY, async ({ p, claimed }) => {
    try {
      record(p, await recordReplacements(batch, p.original, p.parsed, now, claimed));
    } catch (err) {
      refuseClosed(err, [p]);
    }
  });
  if (closed && added === 0) throw editsClosed(batch);
  return { added, already, replacements, newMembers, rejected };
}

/**
 * Originals per transaction on the common path (fewer when their replacements fill the item
 * limit): as many as events per hold, so the gate and claim checks are shared as widely.
 */
const REPLACEMENT_GROUP = 16;

/**
 * Originals per transaction in partitions the batch claims: a member item each (no hold), so three
 * times as many fit, and each claim's write and the gate's check are shared by three times as many.
 * 48 keeps the worst case (every original in a partition of its own: 48 members, 48 claim writes
 * and the gate) within the 100-item limit; replacements filed in other partitions split a group
 * there (writeGrouped).
 */
const CLAIMED_REPLACEMENT_GROUP = 48;

const groupSize = (claimed: boolean) => (claimed ? CLAIMED_REPLACEMENT_GROUP : REPLACEMENT_GROUP);

/** Identifies a set of replacement events by content, whatever their order. */
function replacementsFingerprint(events: readonly NewUsageEvent[]): string {
  return createHash('sha256')
    .update(JSON.stringify(events.map(contentFingerprint).sort()))
    .digest('base64url');
}

type ReplacementOutcome = 'new' | 'attached' | 'already' | { code: ErrorCode; message?: string };

/**
 * One transaction per original: hold it, record its replacements on its member item, file each
 * replacement event, check the gate. A new member is a Put; an original this batch already holds
 * without replacements (added by id, or as a child) gets them by an Update, and is not a new member.
 */
async function recordReplacements(
  batch: Batch,
  original: UsageEvent,
  parsed: Array<NewUsageEvent & { register: string }>,
  now: string,
  /** The batch claims the original's partition (confirmed): no hold, and the claim is checked instead. */
  claimed = false,
): Promise<ReplacementOutcome> {
  const { fingerprint, hold, newMember, attach, filed } = replacementWrite(batch, original, parsed, now);
  // New first; a member that turns out to exist is attached to (or recognised) on the next attempt.
  for (const member of [newMember, attach, newMember]) {
    const intents = [
      ...(claimed ? [] : [intent('event', hold)]),
      intent('member', member),
      ...filed.map((item) => intent('replacement', item)),
      intent('claim', (claimed ? confirmedClaimOf : claimOf)(batch.batchId, original).item),
      intent('gate', gateOpen(batch.batchId, original.eventId)),
    ];
    try {
      await transact(intents);
      return member === newMember ? 'new' : 'attached';
    } catch (err) {
      const refused = refusals(err, intents);
      if (!refused) throw err;
      if (refused.has('gate')) throw editsClosed(batch);
      // The claim was let go since it was confirmed (the batch gave the partition up): held one by one.
      if (claimed && refused.has('claim')) return recordReplacements(batch, original, parsed, now);
      const selected = claimedBy(refused.get('claim'));
      if (selected) return selectedElsewhere(selected);
      const eventReason = refused.get('event');
      const refusal = eventReason && refusalOf(batch, eventReason);
      // The event condition allows this batch's own hold, so 'already' cannot come from it here.
      if (refusal && refusal !== 'already' && refusal !== 'added') return refusal;
      const memberReason = refused.get('member');
      if (memberReason) {
        const old = memberReason.Item ? fromWire(memberReason.Item) : undefined;
        if (old?.replacementsFingerprint === fingerprint) return 'already';
        if (old?.replacements)
          return {
            code: 'VALIDATION_FAILED',
            message: 'the original already has other replacements in this batch; remove it first',
          };
        continue; // the member appeared or went away since the last attempt: try the other shape
      }
      if (refused.size > 0) {
        return { code: 'EVENT_ID_CONFLICT', message: 'a replacement event id is already used in this batch' };
      }
      throw err;
    }
  }
  return { code: 'CONFLICT', message: 'the member changed concurrently; try again' };
}

/**
 * The items that record an original's replacements: its hold, its member item (new or attached to),
 * and an item of its own for each replacement of another partition than the original's. Those of
 * the original's partition (the common case) ride on the member item: lock finds them beside the
 * original it reverses, and they cost no write of their own.
 */
function replacementWrite(
  batch: Batch,
  original: UsageEvent,
  parsed: Array<NewUsageEvent & { register: string }>,
  now: string,
) {
  const fingerprint = replacementsFingerprint(parsed);
  const local = (p: NewUsageEvent & { register: string }) =>
    p.subscriptionId === original.subscriptionId && p.register === original.register;
  const pending = (p: NewUsageEvent & { register: string }): PendingReplacement => ({
    ...p,
    replaces: original.eventId,
  });
  const elsewhere = parsed.filter((p) => !local(p));
  const recorded = {
    replacements: parsed.map((p) => p.eventId),
    replacementKeys: elsewhere.map(
      (p) => keys.batchReplacement(batch.batchId, p.subscriptionId, p.register, p.eventId).SK,
    ),
    replacementEvents: parsed.filter(local).map(pending),
    replacementsFingerprint: fingerprint,
  };
  const hold = holdUpdate(batch, original.eventId, now);
  // An original this batch already holds (added by id) may receive its replacements now, once.
  hold.Update!.ConditionExpression = hold.Update!.ConditionExpression!.replace(
    'attribute_not_exists(heldBy)',
    '(attribute_not_exists(heldBy) OR heldBy = :b)',
  );
  const newMember: TransactItem = {
    Put: {
      TableName: clients.tableName,
      Item: memberItem(batch.batchId, original, 'MEMBER', now, recorded),
      ConditionExpression: 'attribute_not_exists(PK)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
  const attach: TransactItem = {
    Update: {
      TableName: clients.tableName,
      Key: keys.batchMember(batch.batchId, original.eventId),
      UpdateExpression:
        'SET replacements = :r, replacementKeys = :k, replacementEvents = :e, replacementsFingerprint = :f',
      ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(replacements)',
      ExpressionAttributeValues: {
        ':r': recorded.replacements,
        ':k': recorded.replacementKeys,
        ':e': recorded.replacementEvents,
        ':f': fingerprint,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
  const filed: TransactItem[] = elsewhere.map((p) => ({
    Put: {
      TableName: clients.tableName,
      Item: {
        ...keys.batchReplacement(batch.batchId, p.subscriptionId, p.register, p.eventId),
        itemType: 'BATCH_REPLACEMENT',
        ...pending(p),
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  }));
  return { fingerprint, hold, newMember, attach, filed };
}

/**
 * The replacement events waiting in a batch for one partition: those on the member items of the
 * originals there (`members`, the partition's held events' members) and those filed under it from
 * originals elsewhere.
 */
export async function pendingReplacements(
  batchId: string,
  subscriptionId: string,
  register: string,
  members: readonly BatchMember[],
): Promise<PendingReplacement[]> {
  const onMembers = members
    .filter((m) => m.subscriptionId === subscriptionId && m.register === register)
    .flatMap((m) => m.replacementEvents ?? []);
  const filed = await queryAll(keys.batchPartition(batchId), keys.batchReplacementPrefix(subscriptionId, register));
  return [...onMembers, ...filed.map(toPendingReplacement)];
}

/** Replacement events of the given members. */
export async function replacementsOf(batchId: string, members: readonly BatchMember[]): Promise<PendingReplacement[]> {
  const sks = members.flatMap((m) => m.replacementKeys ?? []);
  const items = await batchGet(sks.map((SK) => ({ PK: keys.batchPartition(batchId), SK })));
  return [...members.flatMap((m) => m.replacementEvents ?? []), ...items.map(toPendingReplacement)];
}

/**
 * A page of every replacement waiting in a batch: first those on member items, then those filed
 * on their own. The cursor names the source and the key to go on from.
 */
export async function pendingReplacementPage(
  batchId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: PendingReplacement[]; nextCursor?: string; originalHere: Set<string> }> {
  const at = decodeCursor(cursor, isPageCursor) ?? { s: 0 };
  const prefix = at.s === 0 ? keys.batchMemberPrefix : keys.batchReplacementsPrefix;
  const res = await queryPrefix({ pk: keys.batchPartition(batchId), prefix, limit, start: at.k });
  const found = res.Items ?? [];
  // Which replacements share their original's partition, as their original's member item shows.
  const originalHere = new Set<string>();
  const items =
    at.s === 0
      ? found.flatMap((it) => {
          if (!Array.isArray(it.replacementEvents)) return [];
          const page = (it.replacementEvents as Item[]).map(toPendingReplacement);
          for (const r of page)
            if (r.subscriptionId === it.subscriptionId && r.register === it.register) originalHere.add(r.eventId);
          return page;
        })
      : found.map(toPendingReplacement);
  if (res.LastEvaluatedKey)
    return { items, nextCursor: encodeCursor({ s: at.s, k: res.LastEvaluatedKey }), originalHere };
  return at.s === 0 ? { items, nextCursor: encodeCursor({ s: 1 }), originalHere } : { items, originalHere };
}

const isPageCursor = (v: unknown): v is { s: 0 | 1; k?: Record<string, string> } =>
  typeof v === 'object' &&
  v !== null &&
  ((v as { s?: unknown }).s === 0 || (v as { s?: unknown }).s === 1) &&
  ((v as { k?: unknown }).k === undefined || isStringRecord((v as { k?: unknown }).k));

/**
 * Holds the events an undo changes (DRAFT): each only if its revision is still the one the
 * original left (`rev`) and no batch holds it, with its member item. Repeatable: an event this
 * batch already holds is counted as such. Returns how many were newly held, and the events
 * refused (a later change, or another open batch).
 */
export async function holdForUndo(
  batch: Batch,
  entries: ReadonlyArray<{ event: UsageEvent; rev: number }>,
  now: string,
): Promise<{ added: number; refused: UsageEvent[] }> {
  const refused = await writeGrouped(
    byPartition(entries, (x) => x.event),
    {
      keyedOf: ({ event }) => claimOf(batch.batchId, event),
      itemsOf: ({ event, rev }) => [
        {
          Update: {
            TableName: clients.tableName,
            Key: keys.event(event.eventId),
            UpdateExpression: `SET heldBy = :b, heldAt = :now ${touch}`,
            ConditionExpression: 'attribute_exists(PK) AND ratingRev = :rev AND attribute_not_exists(heldBy)',
            ExpressionAttributeValues: { ':b': batch.batchId, ':now': now, ':rev': rev, ...touchValue(batch.batchId) },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        { Put: { TableName: clients.tableName, Item: memberItem(batch.batchId, event, 'MEMBER', now) } },
      ],
      // A cancelled undo (a racing request gave up on it) takes nothing.
      shared: () => [batchStageCheck(batch.batchId, { status: 'DRAFT' })],
      sharedRefused: () => editsClosed(batch),
    },
    HOLD_GROUP,
  );
  const moved: UsageEvent[] = [];
  for (const [entry, reason] of refused) {
    // Its partition selected by another batch: refused as if that batch held it.
    if (claimedBy(reason)) {
      moved.push(entry.event);
      continue;
    }
    const current = reason.Item ? toUsageEvent(fromWire(reason.Item)) : undefined;
    // Held by this batch already (an earlier attempt of the same request): its member item is there too.
    if (current?.heldBy === batch.batchId && current.ratingRev === entry.rev) continue;
    moved.push(current ?? entry.event);
  }
  return { added: entries.length - refused.size, refused: moved };
}
