// Bill units. A bill unit's open-item counters move only together with the open item that
// explains them (see open-items.ts); bill unit ids are global, like subscription ids.
import { BatchGetCommand, type BatchGetCommandOutput, GetCommand } from '@aws-sdk/lib-dynamodb';
import { noOpenItems, OPEN_ITEM_KINDS, type Account, type BillUnit, type OpenItemKind } from '../domain/account';
import { DomainError } from '../domain/errors';
import { clients } from './clients';
import type { TransactItem } from './grouped-transactions';
import { readItem } from './item-reader';
import { keys } from './keys';

type Item = Record<string, unknown>;

export const toBillUnit = (item: Item): BillUnit => {
  const r = readItem(item, 'bill unit', 'billUnitId');
  const counts = noOpenItems();
  for (const [kind, n] of Object.entries(r.bigintMap('openItemCounts'))) {
    const known = OPEN_ITEM_KINDS.find((k) => k === kind);
    if (!known) throw new Error(`bill unit ${r.string('billUnitId')}: openItemCounts has an unknown kind ${kind}`);
    counts[known] = Number(n);
  }
  const name = r.optionalString('name');
  return {
    billUnitId: r.string('billUnitId'),
    accountId: r.string('accountId'),
    ...(name ? { name } : {}),
    isDefault: item.isDefault === true,
    balanceGroups: r.count('balanceGroups'),
    openItems: r.count('openItems'),
    openItemCounts: counts,
    createdAt: r.string('createdAt'),
  };
};

/** The bill unit's item, new: refused when the id is taken (by any account). */
export const newBillUnitPut = (b: BillUnit): TransactItem => ({
  Put: {
    TableName: clients.tableName,
    Item: { ...keys.billUnit(b.billUnitId), itemType: 'BILL_UNIT', ...b },
    ConditionExpression: 'attribute_not_exists(PK)',
  },
});

/** The bill-unit side of an open item's change: its counters, guarded to stay in the account. */
export function openItemCountersUpdate(
  accountId: string,
  billUnitId: string,
  kind: OpenItemKind,
  delta: 1 | -1,
): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.billUnit(billUnitId),
      UpdateExpression: 'ADD openItems :d, openItemCounts.#kind :d',
      ConditionExpression: 'accountId = :acct',
      ExpressionAttributeNames: { '#kind': kind },
      ExpressionAttributeValues: { ':d': delta, ':acct': accountId },
    },
  };
}

export async function getBillUnit(billUnitId: string): Promise<BillUnit | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.billUnit(billUnitId), ConsistentRead: true }),
  );
  return res.Item ? toBillUnit(res.Item) : undefined;
}

/** The bill unit, if it belongs to the account (another account's bill unit is not found here). */
export async function requireBillUnitOf(accountId: string, billUnitId: string): Promise<BillUnit> {
  const billUnit = await getBillUnit(billUnitId);
  if (!billUnit || billUnit.accountId !== accountId)
    throw new DomainError('NOT_FOUND', `bill unit ${billUnitId} of account ${accountId} was not found`);
  return billUnit;
}

export async function listBillUnits(account: Account): Promise<BillUnit[]> {
  const out: BillUnit[] = [];
  for (let i = 0; i < account.billUnitIds.length; i += 100) {
    let request: BatchGetRequest | undefined = {
      [clients.tableName]: {
        Keys: account.billUnitIds.slice(i, i + 100).map((id) => keys.billUnit(id)),
        ConsistentRead: true,
      },
    };
    while (request && Object.keys(request).length > 0) {
      const res: BatchGetCommandOutput = await clients.dynamo.send(new BatchGetCommand({ RequestItems: request }));
      out.push(...(res.Responses?.[clients.tableName] ?? []).map(toBillUnit));
      request = res.UnprocessedKeys;
    }
  }
  return out.sort((a, b) =>
    a.isDefault !== b.isDefault ? (a.isDefault ? -1 : 1) : a.billUnitId < b.billUnitId ? -1 : 1,
  );
}

type BatchGetRequest = NonNullable<ConstructorParameters<typeof BatchGetCommand>[0]['RequestItems']>;
