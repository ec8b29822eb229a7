// The account audit log: one item per operation, put in the operation's own transaction.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountLogEntry } from '../domain/account';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { decodeCursor, encodeCursor, isStringRecord } from './cursor';
import { keys } from './keys';

type Item = Record<string, unknown>;

export function accountLogPut(entry: AccountLogEntry): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: { ...keys.accountLog(entry.accountId, entry.at, entry.operationId), itemType: 'ACCOUNT_LOG', ...entry },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

const toEntry = (item: Item): AccountLogEntry => ({
  accountId: item.accountId as string,
  operationId: item.operationId as string,
  at: item.at as string,
  actor: item.actor as string,
  action: item.action as AccountLogEntry['action'],
  message: item.message as string,
  data: (item.data as Record<string, string> | undefined) ?? {},
});

/** The account's log, oldest first, in pages. */
export async function listAccountLog(
  accountId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: AccountLogEntry[]; nextCursor?: string }> {
  const res = await clients.dynamo.send(
    new QueryCommand({
      TableName: clients.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :log)',
      ExpressionAttributeValues: { ':pk': keys.accountPartition(accountId), ':log': keys.accountLogPrefix },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, isStringRecord),
      ConsistentRead: true,
    }),
  );
  const items = (res.Items ?? []).map(toEntry);
  return res.LastEvaluatedKey ? { items, nextCursor: encodeCursor(res.LastEvaluatedKey) } : { items };
}

/** Every log entry of an account (invariant checks, tests). */
export async function allAccountLog(accountId: string): Promise<AccountLogEntry[]> {
  const out: AccountLogEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await listAccountLog(accountId, 1000, cursor);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
