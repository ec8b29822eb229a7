// The ledger close: one setting item saying which periods are final. Postings into an earlier
// period are refused by effectiveDateRefusal, and the refusal is also a condition in the posting's
// transaction, so a close that lands while a backdated posting is in flight cannot be overtaken.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { isConditionFailure } from './errors';
import { keys } from './keys';

export interface LedgerClose {
  /** The last closed period, `YYYY-MM`; absent while nothing is closed. */
  closedThrough?: string;
  updatedAt?: string;
  updatedBy?: string;
}

export async function getLedgerClose(): Promise<LedgerClose> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.ledgerClose, ConsistentRead: true }),
  );
  const item = res.Item;
  if (!item) return {};
  return {
    closedThrough: item.closedThrough as string,
    updatedAt: item.updatedAt as string,
    updatedBy: item.updatedBy as string,
  };
}

/**
 * Moves the close forward to `period`, only if nothing closed it that far already (false then:
 * read it again and judge against what was written).
 */
export async function moveLedgerClose(period: string, actor: string, now: string): Promise<boolean> {
  try {
    await clients.dynamo.send(
      new UpdateCommand({
        TableName: clients.tableName,
        Key: keys.ledgerClose,
        UpdateExpression:
          'SET itemType = :itemType, closedThrough = :p, updatedAt = :now, updatedBy = :actor, history = list_append(if_not_exists(history, :empty), :entry)',
        ConditionExpression: 'attribute_not_exists(PK) OR closedThrough < :p',
        ExpressionAttributeValues: {
          ':itemType': 'SETTING',
          ':p': period,
          ':now': now,
          ':actor': actor,
          ':empty': [],
          ':entry': [{ closedThrough: period, at: now, by: actor }],
        },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/** A transaction's guard that `period` is still open. */
export function ledgerOpenCheck(period: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: clients.tableName,
      Key: keys.ledgerClose,
      ConditionExpression: 'attribute_not_exists(PK) OR closedThrough < :p',
      ExpressionAttributeValues: { ':p': period },
    },
  };
}
