// Balance registers, grants and the ledger: every change to a register is written in one
// transaction with the ledger entry that explains it, keyed by a deterministic idempotency key.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  balanceOf,
  type BalanceView,
  type Counterpart,
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
import { keys } from './keys';

type Item = Record<string, unknown>;

export const toRegister = (item: Item): Register => ({
  subscriptionId: item.subscriptionId as string,
  register: item.register as string,
  granted: (item.granted as bigint | undefined) ?? 0n,
  consumed: (item.consumed as bigint | undefined) ?? 0n,
  updatedAt: item.updatedAt as string,
  version: Number(item.version ?? 0n),
});

export const toGrant = (item: Item): Grant => ({
  grantId: item.grantId as string,
  register: item.register as string,
  amount: item.amount as bigint,
  drawn: (item.drawn as bigint | undefined) ?? 0n,
  validFrom: item.validFrom as string,
  ...(item.validTo ? { validTo: item.validTo as string } : {}),
  ...(item.reason ? { reason: item.reason as string } : {}),
  createdAt: item.createdAt as string,
  version: Number(item.version ?? 0n),
});

export const toLedgerEntry = (item: Item): LedgerEntry => ({
  entryId: item.entryId as string,
  subscriptionId: item.subscriptionId as string,
  register: item.register as string,
  kind: item.kind as LedgerEntry['kind'],
  granted: item.granted as bigint,
  consumed: item.consumed as bigint,
  at: item.at as string,
  actor: item.actor as string,
  ...(item.reason ? { reason: item.reason as string } : {}),
  ...(item.grantId ? { grantId: item.grantId as string } : {}),
  ...(item.batchId ? { batchId: item.batchId as string } : {}),
  ...(item.eventCount !== undefined ? { eventCount: Number(item.eventCount) } : {}),
  ...(item.effectiveAt ? { effectiveAt: item.effectiveAt as string } : {}),
  ...(item.transferId ? { transferId: item.transferId as string } : {}),
  ...(item.adjustmentId ? { adjustmentId: item.adjustmentId as string } : {}),
  ...(item.counterpart ? { counterpart: item.counterpart as Counterpart } : {}),
  ...(item.grantChanges
    ? {
        grantChanges: (item.grantChanges as Item[]).map((c) => ({
          grantId: c.grantId as string,
          amount: c.amount as bigint,
        })),
      }
    : {}),
});

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
  const items = await querySubscriptionItems(subscriptionId, register ? keys.grantPrefix(register) : 'GRANT#');
  return items.map(toGrant);
}

/** Each grant's stored `undrawn` (invariant checks: it must equal amount - drawn). */
export async function grantUndrawn(subscriptionId: string): Promise<Map<string, bigint | undefined>> {
  const items = await querySubscriptionItems(subscriptionId, 'GRANT#');
  return new Map(items.map((i) => [`${i.register as string}#${i.grantId as string}`, i.undrawn as bigint | undefined]));
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
