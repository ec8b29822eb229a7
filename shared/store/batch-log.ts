// The batch log: an append-only audit trail of every action on a batch, oldest first. A workflow's
// entries are written with the change they record (one transaction) or once per key, so retries and
// late attempts never add one twice nor lose one.
import { randomBytes } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';
import type { TransactItem } from './grouped-transactions';
import { keys } from './keys';
import { queryPrefixPage } from './query-all';

export interface LogEntry {
  at: string;
  actor: string;
  action: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Log data must be JSON: bigints (money, quantities) are written as decimal strings by the caller. */
export async function appendLog(batchId: string, entry: LogEntry): Promise<void> {
  await clients.dynamo.send(new PutCommand(logEntryPut(batchId, entry).Put!));
}

/** The entry as a transaction item, to be written in the transaction that makes the change it records. */
export function logEntryPut(batchId: string, entry: LogEntry): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      // A random suffix keeps two entries of the same millisecond apart; order is by time.
      Item: { ...keys.batchLog(batchId, entry.at, randomBytes(4).toString('hex')), itemType: 'BATCH_LOG', ...entry },
    },
  };
}

/**
 * The entry and a marker named by `key` (the step it records, e.g. `LOCK_STARTED#v3`): the
 * transaction is refused once the marker exists, so an entry whose step has no transition of its
 * own is still written once, however often the step is retried.
 */
export function logOnceItems(batchId: string, key: string, entry: LogEntry): TransactItem[] {
  return [
    logEntryPut(batchId, entry),
    {
      Put: {
        TableName: clients.tableName,
        Item: { ...keys.batchLogOnce(batchId, key), itemType: 'BATCH_LOG_ONCE', at: entry.at },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
  ];
}

export async function listLog(
  batchId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: LogEntry[]; nextCursor?: string }> {
  const page = await queryPrefixPage({
    pk: keys.batchPartition(batchId),
    prefix: keys.batchLogPrefix,
    limit,
    cursor,
    consistent: false,
  });
  const items = page.items.map((i) => ({
    at: i.at as string,
    actor: i.actor as string,
    action: i.action as string,
    message: i.message as string,
    ...(i.data ? { data: jsonSafe(i.data) as Record<string, unknown> } : {}),
  }));
  return page.nextCursor ? { items, nextCursor: page.nextCursor } : { items };
}

/** Log data comes back with numbers as bigints (the client reads every number so): make it JSON. */
function jsonSafe(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v instanceof Set) return [...v].map(jsonSafe);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}
