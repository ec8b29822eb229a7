// Accounts. An account is created with its default bill unit and default balance group, and a bill
// unit added to it, each in one transaction with its audit log entry; everything about an account
// is fixed once it exists.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  ACCOUNTING_METHODS,
  DEFAULT_BALANCE_GROUP_ID,
  accountChangeIssues,
  noOpenItems,
  type Account,
  type AccountRequest,
  type BillUnit,
} from '../domain/account';
import { DomainError } from '../domain/errors';
import { accountLogPut } from './account-log';
import { newBalanceGroupPut } from './balance-groups';
import { getBillUnit, newBillUnitPut } from './bill-units';
import { clients } from './clients';
import { intent, refusals, transact } from './intents';
import { readItem } from './item-reader';
import { keys } from './keys';

type Item = Record<string, unknown>;

export const toAccount = (item: Item): Account => {
  const r = readItem(item, 'account', 'accountId');
  return {
    accountId: r.string('accountId'),
    currency: r.string('currency'),
    accountingMethod: r.oneOf('accountingMethod', ACCOUNTING_METHODS),
    createdAt: r.string('createdAt'),
    defaultBillUnitId: r.string('defaultBillUnitId'),
    billUnitIds: r.stringSet('billUnitIds'),
    updatedAt: r.string('updatedAt'),
  };
};

/** The account's item, new: refused when the account exists. */
const newAccountPut = (account: Account) => ({
  Put: {
    TableName: clients.tableName,
    Item: {
      ...keys.account(account.accountId),
      itemType: 'ACCOUNT',
      ...account,
      billUnitIds: new Set(account.billUnitIds),
    },
    ConditionExpression: 'attribute_not_exists(PK)',
  },
});

/** The account gains a bill unit (the account must exist). */
const billUnitAddedUpdate = (accountId: string, billUnitId: string, now: string) => ({
  Update: {
    TableName: clients.tableName,
    Key: keys.account(accountId),
    UpdateExpression: 'ADD billUnitIds :id SET updatedAt = :now',
    ConditionExpression: 'attribute_exists(PK)',
    ExpressionAttributeValues: { ':id': new Set([billUnitId]), ':now': now },
  },
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
  const intents = [
    intent('account', newAccountPut(account)),
    intent('bill unit', newBillUnitPut(billUnit)),
    intent(
      'balance group',
      newBalanceGroupPut(accountId, DEFAULT_BALANCE_GROUP_ID, { billUnitId, from: createdAt, by: actor }),
    ),
    intent(
      'log',
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
    ),
  ];
  try {
    await transact(intents);
  } catch (err) {
    const refused = refusals(err, intents);
    if (refused?.has('account')) return confirm(await requireAccount(accountId));
    if (refused?.has('bill unit')) {
      throw new DomainError('CONFLICT', `bill unit ${billUnitId} already exists; name another defaultBillUnitId`);
    }
    throw err;
  }
  return { account, created: true };
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
  const intents = [
    intent('bill unit', newBillUnitPut(billUnit)),
    intent('account', billUnitAddedUpdate(accountId, req.billUnitId, now)),
    intent(
      'log',
      accountLogPut({
        accountId,
        operationId: `bill-unit:${req.billUnitId}`,
        at: now,
        actor,
        action: 'BILL_UNIT_CREATED',
        message: `bill unit ${req.billUnitId} created`,
        data: { billUnitId: req.billUnitId, ...(req.name ? { name: req.name } : {}) },
      }),
    ),
  ];
  try {
    await transact(intents);
  } catch (err) {
    if (!refusals(err, intents)?.has('bill unit')) throw err;
    const existing = (await getBillUnit(req.billUnitId))!;
    if (existing.accountId === accountId && existing.name === req.name) return { billUnit: existing, created: false };
    throw new DomainError(
      'CONFLICT',
      `bill unit ${req.billUnitId} already exists${existing.accountId === accountId ? ' with another name' : ''}`,
    );
  }
  return { billUnit, created: true };
}
