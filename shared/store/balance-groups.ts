// Balance groups: which bill unit each group of an account belongs to. A subscription's group
// has an item only once it has moved; until then it is in the account's default bill unit.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { balanceGroupKind, type Assignment, type BalanceGroup } from '../domain/account';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { queryAll } from './query-all';
import { keys } from './keys';

type Item = Record<string, unknown>;

export const toBalanceGroup = (item: Item): BalanceGroup => ({
  balanceGroupId: item.balanceGroupId as string,
  accountId: item.accountId as string,
  kind: item.kind as BalanceGroup['kind'],
  billUnitId: item.billUnitId as string,
  moveSeq: Number(item.moveSeq ?? 0n),
  history: ((item.history as Item[] | undefined) ?? []).map((h) => ({
    billUnitId: h.billUnitId as string,
    from: h.from as string,
    by: h.by as string,
    ...(h.moveId ? { moveId: h.moveId as string } : {}),
  })),
  stored: true,
});

/** A new group item (the account's default group, an empty group a move leaves behind). */
export function newBalanceGroupPut(accountId: string, balanceGroupId: string, first: Assignment): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: {
        ...keys.balanceGroup(accountId, balanceGroupId),
        itemType: 'BALANCE_GROUP',
        accountId,
        balanceGroupId,
        kind: balanceGroupKind(balanceGroupId),
        billUnitId: first.billUnitId,
        moveSeq: 0,
        history: [first],
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

export async function getBalanceGroupItem(
  accountId: string,
  balanceGroupId: string,
): Promise<BalanceGroup | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.balanceGroup(accountId, balanceGroupId),
      ConsistentRead: true,
    }),
  );
  return res.Item ? toBalanceGroup(res.Item) : undefined;
}

/** The account's stored groups: its default group, moved subscriptions' groups and empty groups. */
export async function listBalanceGroupItems(accountId: string): Promise<BalanceGroup[]> {
  const out: BalanceGroup[] = (await queryAll(keys.accountPartition(accountId), keys.balanceGroupPrefix)).map(
    toBalanceGroup,
  );
  return out;
}
