// Listing a subscription's usage events, register by register, in rating order, in pages.
import type { Subscription } from '../domain/subscription';
import { registersOf } from '../domain/subscription';
import type { EventStatus, UsageEvent } from '../domain/usage-event';
import { clients } from './clients';
import { decodeCursor, encodeCursor } from './cursor';
import { keys } from './keys';
import { queryIndexItems } from './query-all';
import { toUsageEvent } from './usage-events';

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
}

const isListPosition = (v: unknown): v is ListPosition =>
  typeof v === 'object' &&
  v !== null &&
  'r' in v &&
  typeof v.r === 'number' &&
  (!('k' in v) || v.k === undefined || typeof v.k === 'object');

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
