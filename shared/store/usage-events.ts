// Usage events: idempotent ingest, reads with lineage, and listing by partition.
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError, type ErrorCode } from '../domain/errors';
import { registersOf, type Subscription } from '../domain/subscription';
import {
  contentFingerprint,
  eventRefusal,
  UsageEventInput,
  type EventStatus,
  type NewUsageEvent,
  type StoredRating,
  type UsageEvent,
} from '../domain/usage-event';
import { batchGet } from './batch-get';
import { clients } from './clients';
import { queryIndexAll, queryIndexItems } from './query-all';
import { mapLimit } from './concurrency';
import { decodeCursor, encodeCursor } from './cursor';
import { fromWire, isConditionFailure, isTransactionCanceled, retryOnConflict } from './errors';
import { keys } from './keys';
import { getSubscriptions } from './subscriptions';

type Item = Record<string, unknown>;

export function toUsageEvent(item: Item): UsageEvent {
  const r = item.rating as Item | undefined;
  return {
    eventId: item.eventId as string,
    subscriptionId: item.subscriptionId as string,
    productId: item.productId as string,
    register: item.register as string,
    quantity: item.quantity as bigint,
    occurredAt: item.occurredAt as string,
    attributes: (item.attributes as Record<string, string> | undefined) ?? {},
    ...(item.parentEventId ? { parentEventId: item.parentEventId as string } : {}),
    ...(item.childCount ? { childCount: Number(item.childCount) } : {}),
    status: item.status as EventStatus,
    ...(r ? { rating: toRating(r) } : {}),
    ratingRev: Number(item.ratingRev ?? 0n),
    ...(item.heldBy ? { heldBy: item.heldBy as string } : {}),
    ...(item.lockedBy ? { lockedBy: item.lockedBy as string } : {}),
    ...(item.replaces ? { replaces: item.replaces as string } : {}),
    ...(item.replacedBySet ? { replacedBy: [...(item.replacedBySet as Set<string>)].sort() } : {}),
    // Items reversed before reversedBy named the batch kept the actor there and the batch in reversedInBatch.
    ...(item.reversedInBatch || item.reversedBy
      ? { reversedBy: (item.reversedInBatch ?? item.reversedBy) as string }
      : {}),
    ...(item.reversedAt ? { reversedAt: item.reversedAt as string } : {}),
    ...(item.insertedByBatch ? { insertedByBatch: item.insertedByBatch as string } : {}),
    ...(item.restores ? { restores: item.restores as string } : {}),
    ...(item.touchedBy ? { touchedBy: [...(item.touchedBy as Set<string>)].sort() } : {}),
    createdAt: item.createdAt as string,
  };
}

export function toRating(r: Item): StoredRating {
  return {
    allowanceUsed: r.allowanceUsed as bigint,
    draws: ((r.draws as Item[] | undefined) ?? []).map((d) => ({
      grantId: d.grantId as string,
      quantity: d.quantity as bigint,
    })),
    overageQuantity: r.overageQuantity as bigint,
    unitPrice: r.unitPrice as bigint,
    amount: r.amount as bigint,
    billPeriod: r.billPeriod as string,
    planVersion: Number(r.planVersion),
    ratedAt: r.ratedAt as string,
  };
}

/** The stored item of a new event: `LOADED`, not rated, in its partition's rating order. */
export function newEventItem(e: NewUsageEvent, register: string, now: string, extra: Item = {}): Item {
  return {
    ...keys.event(e.eventId),
    ...keys.eventPartition(e.subscriptionId, register, e.occurredAt, e.eventId),
    ...keys.eventDay(e.occurredAt, e.eventId),
    ...(e.parentEventId ? keys.eventParent(e.parentEventId, e.eventId) : {}),
    itemType: 'EVENT',
    eventId: e.eventId,
    subscriptionId: e.subscriptionId,
    productId: e.productId,
    register,
    quantity: e.quantity,
    occurredAt: e.occurredAt,
    ...(e.attributes && Object.keys(e.attributes).length > 0 ? { attributes: e.attributes } : {}),
    ...(e.parentEventId ? { parentEventId: e.parentEventId } : {}),
    status: 'LOADED',
    ratingRev: 0,
    createdAt: now,
    ...extra,
  };
}

/**
 * Inserts a new event once: false when an earlier attempt already did. A child counts itself on
 * its parent in the same transaction; an event without a parent needs no transaction.
 */
export async function insertEvent(item: Record<string, unknown>, parentEventId: string | undefined): Promise<boolean> {
  const put = { TableName: clients.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' };
  try {
    if (!parentEventId) await clients.dynamo.send(new PutCommand(put));
    else {
      await retryOnConflict(() =>
        clients.dynamo.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: put },
              {
                Update: {
                  TableName: clients.tableName,
                  Key: keys.event(parentEventId),
                  UpdateExpression: 'ADD childCount :one',
                  // Never create a parent by counting its child: parents are inserted first.
                  ConditionExpression: 'attribute_exists(PK)',
                  ExpressionAttributeValues: { ':one': 1 },
                },
              },
            ],
          }),
        ),
      );
    }
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    if (!isTransactionCanceled(err)) throw err;
    const [putReason, parentCheck] = err.CancellationReasons ?? [];
    if (parentCheck?.Code === 'ConditionalCheckFailed')
      throw new Error(`parent ${parentEventId} of replacement ${String(item.eventId)} is not inserted`);
    // Inserted by an earlier attempt of this step: nothing to do.
    if (putReason?.Code !== 'ConditionalCheckFailed') throw err;
    return false;
  }
}

export interface IngestRejection {
  index: number;
  eventId?: string;
  code: ErrorCode;
  message: string;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: IngestRejection[];
}

/**
 * New events go in transactions of conditional puts: one request lands up to TRANSACTION_ITEMS
 * events, where a put per event costs a round trip and most of the client's CPU (signing, HTTP).
 */
const TRANSACTION_ITEMS = 100;
/** Transactions in flight per call; DynamoDB Local and on-demand tables both take this comfortably. */
const TRANSACTION_CONCURRENCY = 4;

/**
 * Ingests events, each on its own: a bad event is rejected with its index and code while the
 * good ones land. Idempotent on `eventId`: the same content again is a duplicate, other content
 * under the same id is `EVENT_ID_CONFLICT`. Guards are conditional puts, never read-then-write.
 */
export async function ingestEvents(
  raw: readonly unknown[],
  now: string,
  /** How a message names another item: the API's request index, or a CSV file's row. */
  itemName: (index: number) => string = (index) => `item ${index} of this request`,
): Promise<IngestResult> {
  const rejected: IngestRejection[] = [];
  const parsed: Array<{ index: number; event: NewUsageEvent }> = [];
  raw.forEach((input, index) => {
    const r = UsageEventInput.safeParse(input);
    if (r.success) parsed.push({ index, event: r.data });
    else {
      const first = r.error.issues[0]!;
      const eventId =
        typeof (input as { eventId?: unknown })?.eventId === 'string'
          ? (input as { eventId: string }).eventId.slice(0, 128)
          : undefined;
      rejected.push({
        index,
        ...(eventId ? { eventId } : {}),
        code: 'VALIDATION_FAILED',
        message: `${first.path.join('.') || 'event'}: ${first.message}`,
      });
    }
  });

  const subscriptions = await loadSubscriptions(parsed.map((p) => p.event.subscriptionId));
  const seen = new Map<string, number>();
  const valid: Array<{ index: number; event: NewUsageEvent; sub: Subscription }> = [];
  for (const { index, event } of parsed) {
    const sub = subscriptions.get(event.subscriptionId);
    const refusal = eventRefusal(event, sub, now);
    if (refusal) rejected.push({ index, eventId: event.eventId, ...refusal });
    else if (seen.has(event.eventId)) {
      rejected.push({
        index,
        eventId: event.eventId,
        code: 'EVENT_ID_CONFLICT',
        message: `eventId repeats ${itemName(seen.get(event.eventId)!)} with other content`,
      });
    } else {
      seen.set(event.eventId, index);
      valid.push({ index, event, sub: sub! });
    }
  }

  const parentRefusals = await checkParents(valid);
  let accepted = 0;
  let duplicates = 0;
  const writable = valid.filter(({ index, event }) => {
    const refusal = parentRefusals.get(index);
    if (refusal) rejected.push({ index, eventId: event.eventId, ...refusal });
    return !refusal;
  });
  // Parents land before their children: a child's write also counts it on its parent.
  for (const level of byParentDepth(writable)) {
    const writes = level.map(({ index, event, sub }) => ({
      index,
      event,
      register: sub.products[event.productId]!.register,
    }));
    const outcomes = (
      await mapLimit(packTransactions(writes), TRANSACTION_CONCURRENCY, (group) => putNewEvents(group, now))
    ).flat();
    for (const { write, outcome } of outcomes) {
      if (outcome === 'accepted') accepted++;
      else if (outcome === 'duplicate') duplicates++;
      else if (outcome === 'conflict') {
        rejected.push({
          index: write.index,
          eventId: write.event.eventId,
          code: 'EVENT_ID_CONFLICT',
          message: 'another event with this eventId and different content exists',
        });
      } else
        rejected.push({
          index: write.index,
          eventId: write.event.eventId,
          code: 'EVENT_NOT_FOUND',
          message: `parent event ${write.event.parentEventId} does not exist`,
        });
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, duplicates, rejected };
}

function byParentDepth<T extends { event: NewUsageEvent }>(items: T[]): T[][] {
  const inRequest = new Map(items.map((i) => [i.event.eventId, i.event]));
  const depth = (e: NewUsageEvent, seen = 0): number =>
    e.parentEventId && inRequest.has(e.parentEventId) && seen < 10
      ? 1 + depth(inRequest.get(e.parentEventId)!, seen + 1)
      : 0;
  const levels: T[][] = [];
  for (const item of items) (levels[depth(item.event)] ??= []).push(item);
  return levels.filter(Boolean);
}

interface NewEventWrite {
  index: number;
  event: NewUsageEvent;
  register: string;
}

type WriteOutcome = 'accepted' | 'duplicate' | 'conflict' | 'no-parent';

/** Splits writes into transactions: each event a put, each parent one count update, at most TRANSACTION_ITEMS in all. */
function packTransactions(writes: readonly NewEventWrite[]): NewEventWrite[][] {
  const groups: NewEventWrite[][] = [];
  let group: NewEventWrite[] = [];
  let parents = new Set<string>();
  for (const w of writes) {
    const newParent = w.event.parentEventId !== undefined && !parents.has(w.event.parentEventId) ? 1 : 0;
    if (group.length + parents.size + 1 + newParent > TRANSACTION_ITEMS) {
      groups.push(group);
      group = [];
      parents = new Set();
    }
    group.push(w);
    if (w.event.parentEventId) parents.add(w.event.parentEventId);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Lands a group of new events in one transaction: a conditional put per event, and per parent one
 * update that counts the children landing with it. A transaction is all or nothing, so when some
 * puts find their event already there, those are settled from the item DynamoDB returns
 * (duplicate or conflict) and the rest are sent again; each round settles at least one event.
 */
async function putNewEvents(
  group: readonly NewEventWrite[],
  now: string,
): Promise<Array<{ write: NewEventWrite; outcome: WriteOutcome }>> {
  const settled: Array<{ write: NewEventWrite; outcome: WriteOutcome }> = [];
  let remaining = [...group];
  while (remaining.length > 0) {
    const children = new Map<string, number>();
    for (const w of remaining)
      if (w.event.parentEventId) children.set(w.event.parentEventId, (children.get(w.event.parentEventId) ?? 0) + 1);
    const parents = [...children.keys()];
    const items = [
      ...remaining.map((w) => ({
        Put: {
          TableName: clients.tableName,
          Item: newEventItem(w.event, w.register, now),
          ConditionExpression: 'attribute_not_exists(PK)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      })),
      ...parents.map((parent) => ({
        Update: {
          TableName: clients.tableName,
          Key: keys.event(parent),
          UpdateExpression: 'ADD childCount :n',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':n': children.get(parent)! },
        },
      })),
    ];
    try {
      // Contention and throttling cancel a transaction without a word from the SDK: sent again.
      await retryOnConflict(() => clients.dynamo.send(new TransactWriteCommand({ TransactItems: items })));
      for (const write of remaining) settled.push({ write, outcome: 'accepted' });
      return settled;
    } catch (err) {
      if (!isTransactionCanceled(err)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const failed = (i: number) => reasons[i]?.Code === 'ConditionalCheckFailed';
      // Refused for another reason (validation, contention past its retries): not ours to settle.
      if (!reasons.some((r) => r.Code === 'ConditionalCheckFailed')) throw err;
      const missingParents = new Set(parents.filter((_, i) => failed(remaining.length + i)));
      const retry: NewEventWrite[] = [];
      for (const [i, write] of remaining.entries()) {
        if (failed(i)) {
          const old = reasons[i]!.Item;
          settled.push({ write, outcome: await existingOutcome(write.event, old ? fromWire(old) : undefined) });
        } else if (write.event.parentEventId && missingParents.has(write.event.parentEventId)) {
          settled.push({ write, outcome: 'no-parent' });
        } else retry.push(write);
      }
      remaining = retry;
    }
  }
  return settled;
}

/** An event whose put found its id taken: a duplicate when the stored content is the same. */
async function existingOutcome(event: NewUsageEvent, old: Item | undefined): Promise<'duplicate' | 'conflict'> {
  const existing = old ? toUsageEvent(old) : await getEvent(event.eventId);
  return existing && contentFingerprint(existing) === contentFingerprint(event) ? 'duplicate' : 'conflict';
}

/** A child's parent must exist (stored, or earlier in this request), be in the same subscription, and not be reversed. */
async function checkParents(
  valid: Array<{ index: number; event: NewUsageEvent }>,
): Promise<Map<number, { code: ErrorCode; message: string }>> {
  const inRequest = new Map(valid.map((v) => [v.event.eventId, v.event]));
  const missing = [
    ...new Set(valid.map((v) => v.event.parentEventId).filter((p): p is string => !!p && !inRequest.has(p))),
  ];
  const stored = new Map((await getEvents(missing)).map((e) => [e.eventId, e]));
  const refusals = new Map<number, { code: ErrorCode; message: string }>();
  for (const { index, event } of valid) {
    if (!event.parentEventId) continue;
    const parent = inRequest.get(event.parentEventId) ?? stored.get(event.parentEventId);
    if (!parent)
      refusals.set(index, { code: 'EVENT_NOT_FOUND', message: `parent event ${event.parentEventId} does not exist` });
    else if (parent.subscriptionId !== event.subscriptionId) {
      refusals.set(index, {
        code: 'VALIDATION_FAILED',
        message: `parent event ${event.parentEventId} belongs to another subscription`,
      });
    } else if ('status' in parent && parent.status === 'REVERSED') {
      refusals.set(index, {
        code: 'EVENT_ALREADY_REVERSED',
        message: `parent event ${event.parentEventId} is reversed`,
      });
    }
  }
  return refusals;
}

async function loadSubscriptions(ids: string[]): Promise<Map<string, Subscription>> {
  const subs = await getSubscriptions(ids);
  return new Map(subs.map((s) => [s.subscriptionId, s]));
}

export async function getEvent(eventId: string): Promise<UsageEvent | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.event(eventId), ConsistentRead: true }),
  );
  return res.Item ? toUsageEvent(res.Item) : undefined;
}

/** Strongly consistent batch read; missing ids are simply absent from the result. */
export async function getEvents(eventIds: readonly string[]): Promise<UsageEvent[]> {
  return (await batchGet([...new Set(eventIds)].map((id) => keys.event(id)))).map(toUsageEvent);
}

export async function childEventIds(parentEventId: string): Promise<string[]> {
  // GSI2 carries keys only; its sort key is the child's id.
  return (await queryIndexAll('GSI2', keys.childrenIndexKey(parentEventId))).map((item) => item.GSI2SK as string);
}

export interface EventFilter {
  subscriptionId: string;
  productId?: string;
  status?: EventStatus;
  /** Inclusive lower bound on occurredAt. */
  from?: string;
  /** Exclusive upper bound on occurredAt. */
  to?: string;
}

interface ListPosition {
  r: number;
  k?: Item;
}

const isListPosition = (v: unknown): v is ListPosition =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ListPosition).r === 'number' &&
  ((v as ListPosition).k === undefined || typeof (v as ListPosition).k === 'object');

/**
 * Lists a subscription's events register by register, each in rating order (occurredAt, eventId).
 * A subscription is required: listing the whole table would be a scan.
 */
export async function listEvents(
  filter: EventFilter,
  sub: Subscription,
  limit: number,
  cursor?: string,
): Promise<{ items: UsageEvent[]; nextCursor?: string }> {
  const registers = filter.productId
    ? [sub.products[filter.productId]?.register].filter((r): r is string => !!r)
    : registersOf(sub);
  const position = decodeCursor(cursor, isListPosition) ?? { r: 0 };
  const items: UsageEvent[] = [];
  let r = position.r;
  let start = position.k;
  while (r < registers.length && items.length < limit) {
    const page = await queryPartition(sub.subscriptionId, registers[r]!, filter, limit - items.length, start);
    items.push(...page.items);
    if (page.last) {
      start = page.last;
      if (items.length >= limit) return { items, nextCursor: encodeCursor({ r, k: start }) };
    } else {
      r++;
      start = undefined;
    }
  }
  return r < registers.length ? { items, nextCursor: encodeCursor({ r, k: start }) } : { items };
}

async function queryPartition(
  subscriptionId: string,
  register: string,
  filter: EventFilter,
  want: number,
  start: Item | undefined,
): Promise<{ items: UsageEvent[]; last?: Item }> {
  const values: Record<string, unknown> = { ':p': keys.partitionIndexKey(subscriptionId, register) };
  // `to` is exclusive: an event at exactly `to` sorts as `to#id`, after the bound.
  let window = '';
  if (filter.from && filter.to) window = ' AND GSI1SK BETWEEN :from AND :to';
  else if (filter.from) window = ' AND GSI1SK >= :from';
  else if (filter.to) window = ' AND GSI1SK < :to';
  if (filter.from) values[':from'] = filter.from;
  if (filter.to) values[':to'] = filter.to;
  // GSI1 carries keys only: product and status are filtered once the events are read.
  const wanted = (e: UsageEvent) =>
    (!filter.productId || e.productId === filter.productId) && (!filter.status || e.status === filter.status);
  const items: UsageEvent[] = [];
  let exclusiveStart = start;
  do {
    const res = await queryIndexItems({
      TableName: clients.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: `GSI1PK = :p${window}`,
      ExpressionAttributeValues: values,
      ExclusiveStartKey: exclusiveStart,
      Limit: Math.max(want - items.length, 25),
    });
    for (const item of res.Items) {
      const event = toUsageEvent(item);
      if (!wanted(event)) continue;
      items.push(event);
      if (items.length === want) {
        // Stop mid-page: the next page starts right after this item.
        const last = { PK: item.PK, SK: item.SK, GSI1PK: item.GSI1PK, GSI1SK: item.GSI1SK };
        return { items, last };
      }
    }
    exclusiveStart = res.LastEvaluatedKey;
  } while (exclusiveStart);
  return { items };
}

export const requireEvent = async (eventId: string): Promise<UsageEvent> => {
  const e = await getEvent(eventId);
  if (!e) throw new DomainError('NOT_FOUND', `usage event ${eventId} was not found`);
  return e;
};
