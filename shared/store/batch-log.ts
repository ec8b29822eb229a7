// The batch log: an append-only audit trail of every action on a batch, oldest first.
import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clients } from './clients';
import { decodeCursor, encodeCursor, isStringRecord } from './cursor';
import { keys } from './keys';

export interface LogEntry {
  at: string;
  actor: string;
  action: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Log data must be JSON: bigints (money, quantities) are written as decimal strings by the caller. */
export async function appendLog(batchId: string, entry: LogEntry): Promise<void> {
  await clients.dynamo.send(
    new PutCommand({
      TableName: clients.tableName,
      // A random suffix keeps two entries of the same millisecond apart; order is by time.
      Item: { ...keys.batchLog(batchId, entry.at, randomBytes(4).toString('hex')), itemType: 'BATCH_LOG', ...entry },
    }),
  );
}

export async function listLog(
  batchId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: LogEntry[]; nextCursor?: string }> {
  const res = await clients.dynamo.send(
    new QueryCommand({
      TableName: clients.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.batchPartition(batchId), ':prefix': keys.batchLogPrefix },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, isStringRecord),
    }),
  );
  const items = (res.Items ?? []).map((i) => ({
    at: i.at as string,
    actor: i.actor as string,
    action: i.action as string,
    message: i.message as string,
    ...(i.data ? { data: jsonSafe(i.data) as Record<string, unknown> } : {}),
  }));
  return res.LastEvaluatedKey ? { items, nextCursor: encodeCursor(res.LastEvaluatedKey) } : { items };
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
