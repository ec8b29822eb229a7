// The outbox: a domain event is put in the same transaction as the change it reports, so it
// exists exactly when the change committed, once. Publishing happens after the commit; pending
// events sit in a sparse index (GSI1 `OUTBOX`) until marked published.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DomainEvent } from '../domain/domain-events';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { isConditionFailure } from './errors';
import { keys } from './keys';
import { queryIndexItems } from './query-all';

/** Published events are kept a week for inspection, then expire. */
const PUBLISHED_TTL_SECONDS = 7 * 24 * 3600;

export type OutboxStatus = 'PENDING' | 'PUBLISHED';

export interface OutboxEntry {
  event: DomainEvent;
  status: OutboxStatus;
  publishedAt?: string;
}

export function outboxPut(event: DomainEvent): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: {
        ...keys.outbox(event.eventId),
        ...keys.outboxPending(event.occurredAt, event.eventId),
        itemType: 'OUTBOX',
        eventId: event.eventId,
        // JSON text: the event is published as it was committed, byte for byte.
        payload: JSON.stringify(event),
        status: 'PENDING',
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

const toEntry = (item: Record<string, unknown>): OutboxEntry => ({
  event: JSON.parse(item.payload as string) as DomainEvent,
  status: item.status as OutboxStatus,
  ...(item.publishedAt ? { publishedAt: item.publishedAt as string } : {}),
});

export async function getOutboxEntry(eventId: string): Promise<OutboxEntry | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.outbox(eventId), ConsistentRead: true }),
  );
  return res.Item ? toEntry(res.Item) : undefined;
}

/** Oldest pending events first. The index is eventually consistent: a relay may see one late. */
export async function listPendingEvents(limit: number): Promise<DomainEvent[]> {
  const res = await queryIndexItems({
    TableName: clients.tableName,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :p',
    ExpressionAttributeValues: { ':p': keys.outboxPendingIndexKey },
    Limit: limit,
  });
  return res.Items.map((i) => toEntry(i).event);
}

/** Marks an event published; marking it twice (two publishers raced) is harmless. */
export async function markPublished(eventId: string, now: string): Promise<void> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.outbox(eventId),
        UpdateExpression: 'SET #status = :published, publishedAt = :now, expiresAt = :ttl REMOVE GSI1PK, GSI1SK',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':published': 'PUBLISHED',
          ':pending': 'PENDING',
          ':now': now,
          ':ttl': Math.floor(Date.parse(now) / 1000) + PUBLISHED_TTL_SECONDS,
        },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
