// Usage events: their checked mapper, new events landed once (conditional puts; a child counted on
// its parent in the same transaction), and reads (listing by partition: usage-event-list.ts). The rules of
// ingest are above the store (domain/event-ingest.ts, services/ingest-events.ts).
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DomainError } from '../domain/errors';
import { compareEvents } from '../domain/rating';
import { EVENT_STATUSES, type NewUsageEvent, type StoredRating, type UsageEvent } from '../domain/usage-event';
import { batchGet } from './batch-get';
import { clients } from './clients';
import { mapLimit } from './concurrency';
import { fromWire, isConditionFailure } from './errors';
import type { TransactItem } from './grouped-transactions';
import { intent, refusals, transact, type Intent } from './intents';
import { ItemReader, readItem } from './item-reader';
import { keys } from './keys';
import { queryIndexAll } from './query-all';

type Item = Record<string, unknown>;

export function toUsageEvent(item: Item): UsageEvent {
  const r = readItem(item, 'usage event', 'eventId');
  const rating = r.optionalNested('rating');
  const parentEventId = r.optionalString('parentEventId');
  const childCount = r.count('childCount');
  const heldBy = r.optionalString('heldBy');
  const lockedBy = r.optionalString('lockedBy');
  const replaces = r.optionalString('replaces');
  // Items reversed before reversedBy named the batch kept the actor there and the batch in reversedInBatch.
  const reversedBy = r.optionalString('reversedInBatch') || r.optionalString('reversedBy');
  const reversedAt = r.optionalString('reversedAt');
  const insertedByBatch = r.optionalString('insertedByBatch');
  const restores = r.optionalString('restores');
  const indexedVia = r.optionalString('indexedVia');
  return {
    eventId: r.string('eventId'),
    subscriptionId: r.string('subscriptionId'),
    productId: r.string('productId'),
    register: r.string('register'),
    quantity: r.bigint('quantity'),
    occurredAt: r.string('occurredAt'),
    attributes: r.stringMap('attributes'),
    ...(parentEventId ? { parentEventId } : {}),
    ...(childCount ? { childCount } : {}),
    status: r.oneOf('status', EVENT_STATUSES),
    ...(rating ? { rating: toRating(rating) } : {}),
    ratingRev: r.count('ratingRev'),
    ...(heldBy ? { heldBy } : {}),
    ...(lockedBy ? { lockedBy } : {}),
    ...(replaces ? { replaces } : {}),
    ...(r.has('replacedBySet') ? { replacedBy: r.stringSet('replacedBySet') } : {}),
    ...(indexedVia ? { indexedVia } : {}),
    ...(reversedBy ? { reversedBy } : {}),
    ...(reversedAt ? { reversedAt } : {}),
    ...(insertedByBatch ? { insertedByBatch } : {}),
    ...(restores ? { restores } : {}),
    ...(r.has('touchedBy') ? { touchedBy: r.stringSet('touchedBy') } : {}),
    createdAt: r.string('createdAt'),
  };
}

/** A stored rating as a change set keeps it (the event's before and after), checked like the event's own. */
export function storedRating(item: Item): StoredRating {
  return toRating(new ItemReader(item, 'stored rating'));
}

function toRating(r: ItemReader): StoredRating {
  return {
    allowanceUsed: r.bigint('allowanceUsed'),
    draws: r.nestedList('draws').map((d) => ({ grantId: d.string('grantId'), quantity: d.bigint('quantity') })),
    overageQuantity: r.bigint('overageQuantity'),
    unitPrice: r.bigint('unitPrice'),
    amount: r.bigint('amount'),
    billPeriod: r.string('billPeriod'),
    planVersion: r.integer('planVersion'),
    ratedAt: r.string('ratedAt'),
  };
}

/**
 * The stored item of a new event: `LOADED`, not rated, in its partition's rating order. A
 * replacement listed through its original (`indexedVia`) has no partition or day entries.
 */
export function newEventItem(
  e: NewUsageEvent & { indexedVia?: string | undefined },
  register: string,
  now: string,
  extra: Item = {},
): Item {
  return {
    ...keys.event(e.eventId),
    ...(e.indexedVia
      ? { indexedVia: e.indexedVia }
      : {
          ...keys.eventPartition(e.subscriptionId, register, e.occurredAt, e.eventId),
          ...keys.eventDay(e.occurredAt, e.eventId),
        }),
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
  if (!parentEventId) {
    try {
      await clients.dynamo.send(new PutCommand(put));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
  const intents = [intent('event', { Put: put }), intent('parent', childCountedUpdate(parentEventId, 1))];
  try {
    await transact(intents);
    return true;
  } catch (err) {
    const refused = refusals(err, intents);
    if (refused?.has('parent'))
      throw new Error(`parent ${parentEventId} of replacement ${String(item.eventId)} is not inserted`);
    // Inserted by an earlier attempt of this step: nothing to do.
    if (!refused?.has('event')) throw err;
    return false;
  }
}

/**
 * Names a replacement on the event it replaces (a set: linking again changes nothing). No
 * condition: the original is in the table, since the batch inserting the replacement holds it.
 */
export async function linkReplacement(originalEventId: string, replacementEventId: string): Promise<void> {
  await clients.dynamo.send(
    new UpdateCommand({
      TableName: clients.tableName,
      Key: keys.event(originalEventId),
      UpdateExpression: 'ADD replacedBySet :r',
      ExpressionAttributeValues: { ':r': new Set([replacementEventId]) },
    }),
  );
}

/** A parent counts children landing with it; never creates a parent by counting its child (parents land first). */
const childCountedUpdate = (parentEventId: string, n: number): TransactItem => ({
  Update: {
    TableName: clients.tableName,
    Key: keys.event(parentEventId),
    UpdateExpression: 'ADD childCount :n',
    ConditionExpression: 'attribute_exists(PK)',
    ExpressionAttributeValues: { ':n': n },
  },
});

/**
 * New events go in transactions of conditional puts: one request lands up to TRANSACTION_ITEMS
 * events, where a put per event costs a round trip and most of the client's CPU (signing, HTTP).
 */
const TRANSACTION_ITEMS = 100;
/** Transactions in flight per call; DynamoDB Local and on-demand tables both take this comfortably. */
const TRANSACTION_CONCURRENCY = 4;

export interface NewEventWrite {
  index: number;
  event: NewUsageEvent;
  register: string;
}

/** What became of a new event's put: it landed, its id was taken (by the event read back), or its parent is missing. */
export type LandOutcome =
  | { kind: 'landed' }
  | { kind: 'taken'; existing: UsageEvent | undefined }
  | { kind: 'no-parent' };

/** Lands new events in transactions of conditional puts, TRANSACTION_CONCURRENCY at a time; every write gets its outcome. */
export async function landNewEvents(
  writes: readonly NewEventWrite[],
  now: string,
): Promise<Array<{ write: NewEventWrite; outcome: LandOutcome }>> {
  return (
    await mapLimit(packTransactions(writes), TRANSACTION_CONCURRENCY, (group) => putNewEvents(group, now))
  ).flat();
}

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
 * puts find their event already there, those are settled with the item DynamoDB returns and the
 * rest are sent again; each round settles at least one event.
 */
async function putNewEvents(
  group: readonly NewEventWrite[],
  now: string,
): Promise<Array<{ write: NewEventWrite; outcome: LandOutcome }>> {
  const settled: Array<{ write: NewEventWrite; outcome: LandOutcome }> = [];
  let remaining = [...group];
  while (remaining.length > 0) {
    const children = new Map<string, number>();
    for (const w of remaining)
      if (w.event.parentEventId) children.set(w.event.parentEventId, (children.get(w.event.parentEventId) ?? 0) + 1);
    // Labels: the write for an event's put, the parent's id for its count.
    const intents: Array<Intent<NewEventWrite | string>> = [
      ...remaining.map((w) =>
        intent<NewEventWrite | string>(w, {
          Put: {
            TableName: clients.tableName,
            Item: newEventItem(w.event, w.register, now),
            ConditionExpression: 'attribute_not_exists(PK)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        }),
      ),
      ...[...children].map(([parent, n]) => intent<NewEventWrite | string>(parent, childCountedUpdate(parent, n))),
    ];
    try {
      // Contention and throttling cancel a transaction without a word from the SDK: sent again.
      await transact(intents);
      for (const write of remaining) settled.push({ write, outcome: { kind: 'landed' } });
      return settled;
    } catch (err) {
      const refused = refusals(err, intents);
      // Refused for another reason (validation, contention past its retries): not ours to settle.
      if (!refused || refused.size === 0) throw err;
      const retry: NewEventWrite[] = [];
      for (const write of remaining) {
        const reason = refused.get(write);
        if (reason) {
          const existing = reason.Item ? toUsageEvent(fromWire(reason.Item)) : await getEvent(write.event.eventId);
          settled.push({ write, outcome: { kind: 'taken', existing } });
        } else if (write.event.parentEventId && refused.has(write.event.parentEventId)) {
          settled.push({ write, outcome: { kind: 'no-parent' } });
        } else retry.push(write);
      }
      remaining = retry;
    }
  }
  return settled;
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

/**
 * Events read through an index, with the replacements listed through them (`indexedVia`) put
 * right after their original, where rating order has them: the one read path for the partition
 * and day indexes. A replacement of this kind is found by its original's `replacedBy`; one its
 * original names but the table does not hold yet (a submit between its two writes) is left out.
 */
export async function withReplacementsListedVia(events: readonly UsageEvent[]): Promise<UsageEvent[]> {
  const asked = events.filter((e) => e.replacedBy?.length && e.indexedVia === undefined);
  if (asked.length === 0) return [...events];
  const listed = new Set(events.map((e) => e.eventId));
  const via = new Map<string, UsageEvent[]>();
  for (const r of await getEvents(asked.flatMap((e) => e.replacedBy!))) {
    if (r.indexedVia === undefined || listed.has(r.eventId)) continue;
    via.set(r.indexedVia, [...(via.get(r.indexedVia) ?? []), r]);
  }
  return events.flatMap((e) => [e, ...(via.get(e.eventId)?.sort(compareEvents) ?? [])]);
}

export async function childEventIds(parentEventId: string): Promise<string[]> {
  // GSI2 carries keys only; its sort key is the child's id.
  return (await queryIndexAll('GSI2', keys.childrenIndexKey(parentEventId))).map((item) =>
    readItem(item, 'child index entry', 'PK').string('GSI2SK'),
  );
}

export const requireEvent = async (eventId: string): Promise<UsageEvent> => {
  const e = await getEvent(eventId);
  if (!e) throw new DomainError('NOT_FOUND', `usage event ${eventId} was not found`);
  return e;
};
