// The ledger close: one setting item saying which periods are final. Postings into an earlier
// period are refused by effectiveDateRefusal, and the refusal is also a condition in the posting's
// transaction, so a close that lands while a backdated posting is in flight cannot be overtaken.
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ledgerCloseRefusal } from '../domain/effective-date';
import { DomainError } from '../domain/errors';
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

/** Moves the close forward (asking for the period already closed is a no-op). */
export async function closeLedgerThrough(period: string, actor: string, now: string): Promise<LedgerClose> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await getLedgerClose();
    const refusal = ledgerCloseRefusal(period, current.closedThrough, now);
    if (refusal) throw new DomainError(refusal.code, refusal.message, [{ path: 'body.closedThrough', ...refusal }]);
    if (current.closedThrough === period) return current;
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
      return { closedThrough: period, updatedAt: now, updatedBy: actor };
    } catch (err) {
      // Someone closed at the same time: read again and judge against what they wrote.
      if (!isConditionFailure(err)) throw err;
    }
  }
  throw new DomainError('CONFLICT', 'the ledger close changed concurrently; read it and retry');
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
