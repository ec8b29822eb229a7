// Balance registers, grants and the ledger: every change to a register is written in one
// transaction with the ledger entry that explains it, keyed by a deterministic idempotency key.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  balanceOf,
  type BalanceView,
  LEDGER_KINDS,
  type Grant,
  type GrantTake,
  type LedgerEntry,
  type Register,
} from '../domain/balance';
import { DomainError } from '../domain/errors';
import { clients } from './clients';
import type { TransactItem } from './grouped-transactions';
import { indexPage, queryAll } from './query-all';
import { intent, refusals, transact } from './intents';
import { readItem } from './item-reader';
import { keys } from './keys';

type Item = Record<string, unknown>;

export const toRegister = (item: Item): Register => {
  const r = readItem(item, 'register', 'register');
  return {
    subscriptionId: r.string('subscriptionId'),
    register: r.string('register'),
    granted: r.optionalBigint('granted') ?? 0n,
    consumed: r.optionalBigint('consumed') ?? 0n,
    updatedAt: r.string('updatedAt'),
    version: r.count('version'),
  };
};

export const toGrant = (item: Item): Grant => {
  const r = readItem(item, 'grant', 'grantId');
  const validTo = r.optionalString('validTo');
  const reason = r.optionalString('reason');
  return {
    grantId: r.string('grantId'),
    register: r.string('register'),
    amount: r.bigint('amount'),
    drawn: r.optionalBigint('drawn') ?? 0n,
    validFrom: r.string('validFrom'),
    ...(validTo ? { validTo } : {}),
    ...(reason ? { reason } : {}),
    createdAt: r.string('createdAt'),
    version: r.count('version'),
  };
};

export const toLedgerEntry = (item: Item): LedgerEntry => {
  const r = readItem(item, 'ledger entry', 'entryId');
  const text = (name: string) => {
    const v = r.optionalString(name);
    return v ? { [name]: v } : {};
  };
  const counterpart = r.optionalNested('counterpart');
  return {
    entryId: r.string('entryId'),
    subscriptionId: r.string('subscriptionId'),
    register: r.string('register'),
    kind: r.oneOf('kind', LEDGER_KINDS),
    granted: r.bigint('granted'),
    consumed: r.bigint('consumed'),
    at: r.string('at'),
    actor: r.string('actor'),
    ...text('reason'),
    ...text('grantId'),
    ...text('batchId'),
    ...(r.has('eventCount') ? { eventCount: r.integer('eventCount') } : {}),
    ...text('effectiveAt'),
    ...text('transferId'),
    ...text('adjustmentId'),
    ...(counterpart
      ? {
          counterpart: {
            subscriptionId: counterpart.string('subscriptionId'),
            register: counterpart.string('register'),
            entryId: counterpart.string('entryId'),
          },
        }
      : {}),
    ...(r.has('grantChanges')
      ? {
          grantChanges: r
            .nestedList('grantChanges')
            .map((c) => ({ grantId: c.string('grantId'), amount: c.bigint('amount') })),
        }
      : {}),
  };
};

/** The put of a ledger entry: fails its condition when the same step already wrote it. */
export function ledgerEntryPut(entry: LedgerEntry): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: {
        ...keys.ledgerEntry(entry.subscriptionId, entry.register, entry.entryId),
        ...keys.ledgerOrder(entry.subscriptionId, entry.register, entry.at, entry.entryId),
        itemType: 'LEDGER_ENTRY',
        ...entry,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

/** The matching change of the register's totals (created on first use). */
export function registerUpdate(
  entry: Pick<LedgerEntry, 'subscriptionId' | 'register' | 'granted' | 'consumed' | 'at'>,
): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.register(entry.subscriptionId, entry.register),
      UpdateExpression:
        'ADD granted :g, #consumed :c, entries :one, version :one SET itemType = :itemType, subscriptionId = :s, #register = :r, updatedAt = :at',
      ExpressionAttributeNames: { '#register': 'register', '#consumed': 'consumed' },
      ExpressionAttributeValues: {
        ':g': entry.granted,
        ':c': entry.consumed,
        ':one': 1,
        ':itemType': 'REGISTER',
        ':s': entry.subscriptionId,
        ':r': entry.register,
        ':at': entry.at,
      },
    },
  };
}

export interface NewGrant {
  subscriptionId: string;
  register: string;
  grantId: string;
  amount: bigint;
  validFrom: string;
  validTo?: string;
  reason?: string;
}

/** The put of a new grant (a grant, a transfer's credit, a credit adjustment). */
export function grantPut(g: NewGrant, now: string): TransactItem {
  return {
    Put: {
      TableName: clients.tableName,
      Item: {
        ...keys.grant(g.subscriptionId, g.register, g.grantId),
        itemType: 'GRANT',
        grantId: g.grantId,
        subscriptionId: g.subscriptionId,
        register: g.register,
        amount: g.amount,
        drawn: 0n,
        // amount - drawn, kept so that a debit's guard is one condition (`undrawn >= :take`).
        undrawn: g.amount,
        validFrom: g.validFrom,
        ...(g.validTo ? { validTo: g.validTo } : {}),
        ...(g.reason ? { reason: g.reason } : {}),
        createdAt: now,
        version: 1,
      },
      ConditionExpression: 'attribute_not_exists(PK)',
    },
  };
}

/**
 * Takes allowance out of a grant. The condition is the guard against going negative: it holds
 * only while the grant still has `take` undrawn, whatever rating or another debit did meanwhile.
 */
export function grantDebitUpdate(subscriptionId: string, register: string, t: GrantTake): TransactItem {
  return {
    Update: {
      TableName: clients.tableName,
      Key: keys.grant(subscriptionId, register, t.grantId),
      UpdateExpression: 'ADD amount :neg, undrawn :neg, version :one',
      ConditionExpression: 'undrawn >= :take',
      ExpressionAttributeValues: { ':neg': -t.take, ':take': t.take, ':one': 1 },
    },
  };
}

/**
 * Grants allowance to a register: the grant, its ledger entry and the register's total in one
 * transaction. Idempotent on `grantId`: a retry returns the entry the first attempt wrote.
 */
export async function addGrant(
  g: NewGrant,
  actor: string,
  now: string,
): Promise<{ entry: LedgerEntry; balance: BalanceView }> {
  const entry: LedgerEntry = {
    entryId: `grant:${g.grantId}`,
    subscriptionId: g.subscriptionId,
    register: g.register,
    kind: 'GRANT',
    granted: g.amount,
    consumed: 0n,
    at: now,
    actor,
    grantId: g.grantId,
    ...(g.reason ? { reason: g.reason } : {}),
  };
  const intents = [
    intent('grant', grantPut(g, now)),
    intent('ledger', ledgerEntryPut(entry)),
    intent('register', registerUpdate(entry)),
  ];
  try {
    await transact(intents);
  } catch (err) {
    if (!refusals(err, intents)?.size) throw err;
    const existing = await getLedgerEntry(g.subscriptionId, g.register, entry.entryId);
    if (!existing) throw err;
    return { entry: existing, balance: await getBalance(g.subscriptionId, g.register, now) };
  }
  return { entry, balance: await getBalance(g.subscriptionId, g.register, now) };
}

export async function getLedgerEntry(
  subscriptionId: string,
  register: string,
  entryId: string,
): Promise<LedgerEntry | undefined> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.ledgerEntry(subscriptionId, register, entryId),
      ConsistentRead: true,
    }),
  );
  return res.Item ? toLedgerEntry(res.Item) : undefined;
}

async function querySubscriptionItems(subscriptionId: string, prefix: string): Promise<Item[]> {
  const items = await queryAll(keys.subscription(subscriptionId).PK, prefix);
  return items;
}

export async function listGrants(subscriptionId: string, register?: string): Promise<Grant[]> {
  const items = await querySubscriptionItems(
    subscriptionId,
    register ? keys.grantPrefix(register) : keys.allGrantsPrefix,
  );
  return items.map(toGrant);
}

/** Each grant's stored `undrawn` (invariant checks: it must equal amount - drawn). */
export async function grantUndrawn(subscriptionId: string): Promise<Map<string, bigint | undefined>> {
  const items = await querySubscriptionItems(subscriptionId, keys.allGrantsPrefix);
  return new Map(
    items.map((item) => {
      const r = readItem(item, 'grant', 'grantId');
      return [`${r.string('register')}#${r.string('grantId')}`, r.optionalBigint('undrawn')];
    }),
  );
}

export async function listRegisters(subscriptionId: string): Promise<Register[]> {
  return (await querySubscriptionItems(subscriptionId, keys.registerPrefix)).map(toRegister);
}

export async function getRegister(subscriptionId: string, register: string): Promise<Register> {
  const res = await clients.dynamo.send(
    new GetCommand({
      TableName: clients.tableName,
      Key: keys.register(subscriptionId, register),
      ConsistentRead: true,
    }),
  );
  return res.Item
    ? toRegister(res.Item)
    : { subscriptionId, register, granted: 0n, consumed: 0n, updatedAt: '', version: 0 };
}

export async function getBalance(subscriptionId: string, register: string, now: string): Promise<BalanceView> {
  const [reg, grants] = await Promise.all([
    getRegister(subscriptionId, register),
    listGrants(subscriptionId, register),
  ]);
  return balanceOf(reg, grants, now);
}

/** Balances of the given registers (a register never touched reads as zero). */
export async function listBalances(subscriptionId: string, registers: string[], now: string): Promise<BalanceView[]> {
  const [stored, grants] = await Promise.all([listRegisters(subscriptionId), listGrants(subscriptionId)]);
  const byName = new Map(stored.map((r) => [r.register, r]));
  const names = [...new Set([...registers, ...byName.keys()])].sort();
  return names.map((name) =>
    balanceOf(
      byName.get(name) ?? { subscriptionId, register: name, granted: 0n, consumed: 0n, updatedAt: '', version: 0 },
      grants,
      now,
    ),
  );
}

/** The register's ledger, oldest first, in pages. */
export async function listLedger(
  subscriptionId: string,
  register: string,
  limit: number,
  cursor?: string,
): Promise<{ items: LedgerEntry[]; nextCursor?: string }> {
  const page = await indexPage(keys.ledgerIndexKey(subscriptionId, register), limit, cursor);
  return { ...page, items: page.items.map(toLedgerEntry) };
}

/** Every ledger entry of a register, read strongly from the table (invariant checks, tests). */
export async function allLedgerEntries(subscriptionId: string, register: string): Promise<LedgerEntry[]> {
  const items = await queryAll(keys.ledgerPartition(subscriptionId, register), keys.ledgerPrefix);
  return items.map(toLedgerEntry).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.entryId < b.entryId ? -1 : 1));
}

export const requireRegisterOf = (registers: string[], register: string, subscriptionId: string): void => {
  if (!registers.includes(register)) {
    throw new DomainError(
      'NOT_FOUND',
      `register ${register} is not drawn by any product of subscription ${subscriptionId}`,
    );
  }
};
