// The account audit log: one item per operation, put in the operation's own transaction.
import { ACCOUNT_ACTIONS, type AccountLogEntry } from '../domain/account';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { readItem } from './item-reader';
import { keys } from './keys';
import { queryPrefixPage } from './query-all';

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

const toEntry = (item: Item): AccountLogEntry => {
  const r = readItem(item, 'account log entry', 'operationId');
  return {
    accountId: r.string('accountId'),
    operationId: r.string('operationId'),
    at: r.string('at'),
    actor: r.string('actor'),
    action: r.oneOf('action', ACCOUNT_ACTIONS),
    message: r.string('message'),
    data: r.stringMap('data'),
  };
};
/** The account's log, oldest first, in pages. */
export async function listAccountLog(
  accountId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: AccountLogEntry[]; nextCursor?: string }> {
  const page = await queryPrefixPage({
    pk: keys.accountPartition(accountId),
    prefix: keys.accountLogPrefix,
    limit,
    cursor,
  });
  return { ...page, items: page.items.map(toEntry) };
}
