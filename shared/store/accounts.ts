// Accounts, bill units and open items. Every change is one transaction with its audit log entry;
// a bill unit's open-item counters move only together with the open item that explains them.
import { BatchGetCommand, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  DEFAULT_BALANCE_GROUP_ID,
  accountChangeIssues,
  noOpenItems,
  type Account,
  type AccountRequest,
  type BillUnit,
  type OpenItem,
  type OpenItemCounts,
  type OpenItemKind,
  type OpenItemStatus,
} from '../domain/account';
import { DomainError } from '../domain/errors';
import { formatMoney } from '../domain/decimal';
import { accountLogPut } from './account-log';
import { newBalanceGroupPut } from './balance-groups';
import type { TransactItem } from './grouped-transactions';
import { clients } from './clients';
import { decodeCursor, encodeCursor, isStringRecord } from './cursor';
import { cancellationCodes, isTransactionCanceled, retryOnConflict } from './errors';
import { keys } from './keys';

type Item = Record<string, unknown>;

export const toAccount = (item: Item): Account => ({
  accountId: item.accountId as string,
  currency: item.currency as string,
  accountingMethod: item.accountingMethod as Account['accountingMethod'],
  createdAt: item.createdAt as string,
  defaultBillUnitId: item.defaultBillUnitId as string,
  billUnitIds: [...((item.billUnitIds as Set<string> | undefined) ?? [])].sort(),
  updatedAt: item.updatedAt as string,
});

export const toBillUnit = (item: Item): BillUnit => {
  const counts = noOpenItems();
  for (const [kind, n] of Object.entries((item.openItemCounts as Record<string, bigint> | undefined) ?? {}))
    counts[kind as OpenItemKind] = Number(n);
  return {
    billUnitId: item.billUnitId as string,
    accountId: item.accountId as string,
    ...(item.name ? { name: item.name as string } : {}),
    isDefault: item.isDefault === true,
    balanceGroups: Number(item.balanceGroups ?? 0n),
    openItems: Number(item.openItems ?? 0n),
    openItemCounts: counts,
    createdAt: item.createdAt as string,
  };
};

const toOpenItem = (item: Item): OpenItem => ({
  openItemId: item.openItemId as string,
  billUnitId: item.billUnitId as string,
  accountId: item.accountId as string,
  kind: item.kind as OpenItemKind,
  status: item.status as OpenItemStatus,
  ...(item.amount !== undefined ? { amount: item.amount as bigint } : {}),
  ...(item.reference ? { reference: item.reference as string } : {}),
  ...(item.note ? { note: item.note as string } : {}),
  recordedAt: item.recordedAt as string,
  recordedBy: item.recordedBy as string,
  ...(item.resolvedAt ? { resolvedAt: item.resolvedAt as string, resolvedBy: item.resolvedBy as string } : {}),
  ...(item.resolution ? { resolution: item.resolution as string } : {}),
});

export async function getAccount(accountId: string): Promise<Account | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.account(accountId), ConsistentRead: true }),
  );
  return res.Item ? toAccount(res.Item) : undefined;
}

export async function requireAccount(accountId: string): Promise<Account> {
  const account = await getAccount(accountId);
  if (!account)
    throw new DomainError(
      'NOT_FOUND',
      `account ${accountId} was not found; create it with PUT /v1/accounts/${accountId}`,
    );
  return account;
}

function billUnitItem(b: BillUnit): Item {
  return { ...keys.billUnit(b.billUnitId), itemType: 'BILL_UNIT', ...b };
}

/**
 * Creates an account with its default bill unit and default balance group, or confirms an
 * existing one (the same request again answers the account; a change is refused field by field).
 */
export async function putAccount(
  accountId: string,
  req: AccountRequest,
  actor: string,
  now: string,
): Promise<{ account: Account; created: boolean }> {
  const confirm = (existing: Account) => {
    const issues = accountChangeIssues(existing, req);
    if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'An existing account cannot change', issues);
    return { account: existing, created: false };
  };
  const existing = await getAccount(accountId);
  if (existing) return confirm(existing);

  const createdAt = req.createdAt ?? now;
  const billUnitId = req.defaultBillUnitId ?? accountId;
  const account: Account = {
    accountId,
    currency: req.currency,
    accountingMethod: req.accountingMethod,
    createdAt,
    defaultBillUnitId: billUnitId,
    billUnitIds: [billUnitId],
    updatedAt: now,
  };
  const billUnit: BillUnit = {
    billUnitId,
    accountId,
    isDefault: true,
    balanceGroups: 1,
    openItems: 0,
    openItemCounts: noOpenItems(),
    createdAt: now,
  };
  const items: TransactItem[] = [
    {
      Put: {
        TableName: clients.tableName,
        Item: {
          ...keys.account(accountId),
          itemType: 'ACCOUNT',
          ...account,
          billUnitIds: new Set(account.billUnitIds),
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    {
      Put: {
        TableName: clients.tableName,
        Item: billUnitItem(billUnit),
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
    newBalanceGroupPut(accountId, DEFAULT_BALANCE_GROUP_ID, { billUnitId, from: createdAt, by: actor }),
    accountLogPut({
      accountId,
      operationId: 'account',
      at: now,
      actor,
      action: 'ACCOUNT_CREATED',
      message: `account created (${req.accountingMethod}, ${req.currency}) with default bill unit ${billUnitId}`,
      data: {
        currency: req.currency,
        accountingMethod: req.accountingMethod,
        createdAt,
        defaultBillUnitId: billUnitId,
      },
    }),
  ];
  try {
    await retryOnConflict(() => clients.dynamo.send(new TransactWriteCommand({ TransactItems: items })));
  } catch (err) {
    if (!isTransactionCanceled(err)) throw err;
    const [accountCode, billUnitCode] = cancellationCodes(err);
    if (accountCode === 'ConditionalCheckFailed') return confirm(await requireAccount(accountId));
    if (billUnitCode === 'ConditionalCheckFailed') {
      throw new DomainError('CONFLICT', `bill unit ${billUnitId} already exists; name another defaultBillUnitId`);
    }
    throw err;
  }
  return { account, created: true };
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
    let request: Record<string, { Keys: Item[]; ConsistentRead: boolean }> | undefined = {
      [clients.tableName]: {
        Keys: account.billUnitIds.slice(i, i + 100).map((id) => keys.billUnit(id)),
        ConsistentRead: true,
      },
    };
    while (request && Object.keys(request).length > 0) {
      const res = await clients.dynamo.send(new BatchGetCommand({ RequestItems: request }));
      out.push(...(res.Responses?.[clients.tableName] ?? []).map(toBillUnit));
      request = res.UnprocessedKeys as typeof request;
    }
  }
  return out.sort((a, b) =>
    a.isDefault !== b.isDefault ? (a.isDefault ? -1 : 1) : a.billUnitId < b.billUnitId ? -1 : 1,
  );
}

/** Adds a bill unit to an account; the same bill unit again (same account and name) answers it unchanged. */
export async function addBillUnit(
  accountId: string,
  req: { billUnitId: string; name?: string },
  actor: string,
  now: string,
): Promise<{ billUnit: BillUnit; created: boolean }> {
  await requireAccount(accountId);
  const billUnit: BillUnit = {
    billUnitId: req.billUnitId,
    accountId,
    ...(req.name ? { name: req.name } : {}),
    isDefault: false,
    balanceGroups: 0,
    openItems: 0,
    openItemCounts: noOpenItems(),
    createdAt: now,
  };
  try {
    await retryOnConflict(() =>
      clients.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: clients.tableName,
                Item: billUnitItem(billUnit),
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
            {
              Update: {
                TableName: clients.tableName,
                Key: keys.account(accountId),
                UpdateExpression: 'ADD billUnitIds :id SET updatedAt = :now',
                ConditionExpression: 'attribute_exists(PK)',
                ExpressionAttributeValues: { ':id': new Set([req.billUnitId]), ':now': now },
              },
            },
            accountLogPut({
              accountId,
              operationId: `bill-unit:${req.billUnitId}`,
              at: now,
              actor,
              action: 'BILL_UNIT_CREATED',
              message: `bill unit ${req.billUnitId} created`,
              data: { billUnitId: req.billUnitId, ...(req.name ? { name: req.name } : {}) },
            }),
          ],
        }),
      ),
    );
  } catch (err) {
    if (!(isTransactionCanceled(err) && cancellationCodes(err)[0] === 'ConditionalCheckFailed')) throw err;
    const existing = (await getBillUnit(req.billUnitId))!;
    if (existing.accountId === accountId && existing.name === req.name) return { billUnit: existing, created: false };
    throw new DomainError(
      'CONFLICT',
      `bill unit ${req.billUnitId} already exists${existing.accountId === accountId ? ' with another name' : ''}`,
    );
  }
  return { billUnit, created: true };
}

/** The bill-unit side of an open item's change: its counters, guarded to stay in the account. */
function openItemCountersUpdate(
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

export interface NewOpenItem {
  openItemId: string;
  kind: OpenItemKind;
  amount?: bigint;
  reference?: string;
  note?: string;
}

const sameOpenItem = (a: OpenItem, b: NewOpenItem) =>
  a.kind === b.kind && a.amount === b.amount && a.reference === b.reference && a.note === b.note;

/** Records an open item on a bill unit; recording the same item again answers it unchanged. */
export async function recordOpenItem(
  account: Account,
  billUnitId: string,
  req: NewOpenItem,
  actor: string,
  now: string,
): Promise<{ openItem: OpenItem; created: boolean }> {
  await requireBillUnitOf(account.accountId, billUnitId);
  const openItem: OpenItem = {
    ...req,
    billUnitId,
    accountId: account.accountId,
    status: 'OPEN',
    recordedAt: now,
    recordedBy: actor,
  };
  try {
    await retryOnConflict(() =>
      clients.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: clients.tableName,
                Item: { ...keys.openItem(billUnitId, req.openItemId), itemType: 'OPEN_ITEM', ...openItem },
                ConditionExpression: 'attribute_not_exists(PK)',
              },
            },
            openItemCountersUpdate(account.accountId, billUnitId, req.kind, 1),
            accountLogPut({
              accountId: account.accountId,
              operationId: `open-item:${billUnitId}:${req.openItemId}:recorded`,
              at: now,
              actor,
              action: 'OPEN_ITEM_RECORDED',
              message: `${req.kind} ${req.openItemId} recorded on bill unit ${billUnitId}`,
              data: {
                billUnitId,
                openItemId: req.openItemId,
                kind: req.kind,
                ...(req.amount !== undefined ? { amount: formatMoney(req.amount, account.currency) } : {}),
                ...(req.reference ? { reference: req.reference } : {}),
              },
            }),
          ],
        }),
      ),
    );
  } catch (err) {
    if (!(isTransactionCanceled(err) && cancellationCodes(err)[0] === 'ConditionalCheckFailed')) throw err;
    const existing = await getOpenItem(billUnitId, req.openItemId);
    if (existing && sameOpenItem(existing, req)) return { openItem: existing, created: false };
    throw new DomainError(
      'CONFLICT',
      `open item ${req.openItemId} already exists on bill unit ${billUnitId} with other content`,
    );
  }
  return { openItem, created: true };
}

export async function getOpenItem(billUnitId: string, openItemId: string): Promise<OpenItem | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({ TableName: clients.tableName, Key: keys.openItem(billUnitId, openItemId), ConsistentRead: true }),
  );
  return res.Item ? toOpenItem(res.Item) : undefined;
}

/** Resolves an open item (allocated, refunded, settled); resolving it again is a no-op. */
export async function resolveOpenItem(
  accountId: string,
  billUnitId: string,
  openItemId: string,
  resolution: string | undefined,
  actor: string,
  now: string,
): Promise<OpenItem> {
  await requireBillUnitOf(accountId, billUnitId);
  const existing = await getOpenItem(billUnitId, openItemId);
  if (!existing) throw new DomainError('NOT_FOUND', `open item ${openItemId} of bill unit ${billUnitId} was not found`);
  if (existing.status === 'RESOLVED') return existing;
  try {
    await retryOnConflict(() =>
      clients.dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: clients.tableName,
                Key: keys.openItem(billUnitId, openItemId),
                UpdateExpression: `SET #status = :resolved, resolvedAt = :now, resolvedBy = :actor${resolution ? ', resolution = :resolution' : ''}`,
                ConditionExpression: '#status = :open',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':resolved': 'RESOLVED',
                  ':open': 'OPEN',
                  ':now': now,
                  ':actor': actor,
                  ...(resolution ? { ':resolution': resolution } : {}),
                },
              },
            },
            openItemCountersUpdate(accountId, billUnitId, existing.kind, -1),
            accountLogPut({
              accountId,
              operationId: `open-item:${billUnitId}:${openItemId}:resolved`,
              at: now,
              actor,
              action: 'OPEN_ITEM_RESOLVED',
              message: `${existing.kind} ${openItemId} resolved on bill unit ${billUnitId}`,
              data: { billUnitId, openItemId, kind: existing.kind, ...(resolution ? { resolution } : {}) },
            }),
          ],
        }),
      ),
    );
  } catch (err) {
    // Resolved by someone else meanwhile: the item says so.
    if (!(isTransactionCanceled(err) && cancellationCodes(err)[0] === 'ConditionalCheckFailed')) throw err;
  }
  return (await getOpenItem(billUnitId, openItemId))!;
}

/** A bill unit's open items in id order, in pages; `status` filters. */
export async function listOpenItems(
  billUnitId: string,
  status: OpenItemStatus | undefined,
  limit: number,
  cursor?: string,
): Promise<{ items: OpenItem[]; nextCursor?: string }> {
  const res = await clients.dynamo.send(
    new QueryCommand({
      TableName: clients.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :open)',
      ...(status ? { FilterExpression: '#status = :status', ExpressionAttributeNames: { '#status': 'status' } } : {}),
      ExpressionAttributeValues: {
        ':pk': keys.billUnitPartition(billUnitId),
        ':open': keys.openItemPrefix,
        ...(status ? { ':status': status } : {}),
      },
      Limit: limit,
      ExclusiveStartKey: decodeCursor(cursor, isStringRecord),
      ConsistentRead: true,
    }),
  );
  const items = (res.Items ?? []).map(toOpenItem);
  return res.LastEvaluatedKey ? { items, nextCursor: encodeCursor(res.LastEvaluatedKey) } : { items };
}

/** Every open item of a bill unit (invariant checks). */
export async function allOpenItems(billUnitId: string): Promise<OpenItem[]> {
  const out: OpenItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await listOpenItems(billUnitId, undefined, 1000, cursor);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Counts of open items by kind, for refusal messages. */
export const describeOpenItems = (counts: OpenItemCounts): string =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
