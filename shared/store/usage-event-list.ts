// Listing a subscription's usage events, register by register, in rating order, in pages.
import { compareEvents } from '../domain/rating';
import type { Subscription } from '../domain/subscription';
import { registersOf } from '../domain/subscription';
import type { EventStatus, UsageEvent } from '../domain/usage-event';
import { clients } from './clients';
import { decodeCursor, encodeCursor } from './cursor';
import { keys } from './keys';
import { queryIndexItems } from './query-all';
import { getEvents, toUsageEvent, withReplacementsListedVia } from './usage-events';

type Item = Record<string, unknown>;

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
  /** Replacements listed through the event at `k` (indexedVia) that the last page had no room for. */
  t?: string[];
}

const isListPosition = (v: unknown): v is ListPosition =>
  typeof v === 'object' &&
  v !== null &&
  'r' in v &&
  typeof v.r === 'number' &&
  (!('k' in v) || v.k === undefined || typeof v.k === 'object') &&
  (!('t' in v) || v.t === undefined || (Array.isArray(v.t) && v.t.every((id) => typeof id === 'string')));

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
  let start: Pick<ListPosition, 'k' | 't'> = position;
  while (r < registers.length && items.length < limit) {
    const page = await queryPartition(sub.subscriptionId, registers[r]!, filter, limit - items.length, start);
    items.push(...page.items);
    if (page.last) {
      start = page.last;
      if (items.length >= limit) return { items, nextCursor: encodeCursor({ r, ...start }) };
    } else {
      r++;
      start = {};
    }
  }
  return r < registers.length ? { items, nextCursor: encodeCursor({ r, ...start }) } : { items };
}

async function queryPartition(
  subscriptionId: string,
  register: string,
  filter: EventFilter,
  want: number,
  start: Pick<ListPosition, 'k' | 't'>,
): Promise<{ items: UsageEvent[]; last?: Pick<ListPosition, 'k' | 't'> }> {
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
  // Where the list stands: the index entry last read, and what is listed through it still to come.
  const take = (events: UsageEvent[], at: Item | undefined) => {
    for (const [i, event] of events.entries()) {
      if (!wanted(event)) continue;
      items.push(event);
      if (items.length < want) continue;
      // Stop mid-page: the next page starts right after this event, at its index entry (its
      // original's, for one listed through it) and with the rest listed through that entry.
      const anchor = event.indexedVia ?? event.eventId;
      const rest = events.slice(i + 1).filter((e) => e.indexedVia === anchor);
      return {
        k: at ?? indexEntry(events.find((e) => e.eventId === anchor) ?? event),
        ...(rest.length ? { t: rest.map((e) => e.eventId) } : {}),
      };
    }
    return undefined;
  };
  if (start.t?.length) {
    const tail = (await getEvents(start.t)).sort(compareEvents);
    const last = take(tail, start.k);
    if (last) return { items, last };
  }
  let exclusiveStart = start.k;
  do {
    const res = await queryIndexItems({
      TableName: clients.tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: `GSI1PK = :p${window}`,
      ExpressionAttributeValues: values,
      ExclusiveStartKey: exclusiveStart,
      Limit: Math.max(want - items.length, 25),
    });
    const last = take(await withReplacementsListedVia(res.Items.map(toUsageEvent)), undefined);
    if (last) return { items, last };
    exclusiveStart = res.LastEvaluatedKey;
  } while (exclusiveStart);
  return { items };
}

/** The index entry an event is listed by (the keys a Query resumes after). */
function indexEntry(e: UsageEvent): Item {
  return { ...keys.event(e.eventId), ...keys.eventPartition(e.subscriptionId, e.register, e.occurredAt, e.eventId) };
}
