// Accounts, bill units, balance groups and the open items that block moves. Pure: shapes,
// validation and the rules for changing an account. See docs/balance-management.md.
import { z } from 'zod';
import type { FieldRefusal } from './errors';
import { Currency, Id, Instant, MoneyInput } from './values';

/** Balance-forward carries a bill's unpaid total into the next one; open-item settles each bill on its own. */
export const ACCOUNTING_METHODS = ['BALANCE_FORWARD', 'OPEN_ITEM'] as const;
export type AccountingMethod = (typeof ACCOUNTING_METHODS)[number];

export interface Account {
  accountId: string;
  currency: string;
  accountingMethod: AccountingMethod;
  /** When the account began: nothing is effective before it (may be backdated at creation for migrated accounts). */
  createdAt: string;
  defaultBillUnitId: string;
  billUnitIds: string[];
  updatedAt: string;
}

export const AccountInput = z.strictObject({
  currency: Currency,
  accountingMethod: z.enum(ACCOUNTING_METHODS),
  createdAt: Instant.optional(),
  /** Bill unit ids are global; the default bill unit takes the account's id unless named here. */
  defaultBillUnitId: Id.optional(),
});

export type AccountRequest = z.output<typeof AccountInput>;

/** Everything about an account is fixed once it exists: later postings are interpreted by it. */
export function accountChangeIssues(existing: Account, next: AccountRequest): FieldRefusal[] {
  const issues: FieldRefusal[] = [];
  const fixed = (field: string, was: string, now: string | undefined) => {
    if (now !== undefined && now !== was)
      issues.push({
        path: `body.${field}`,
        code: 'VALIDATION_FAILED',
        message: `${field} is ${was} and cannot change`,
      });
  };
  fixed('currency', existing.currency, next.currency);
  fixed('accountingMethod', existing.accountingMethod, next.accountingMethod);
  fixed('createdAt', existing.createdAt, next.createdAt);
  fixed('defaultBillUnitId', existing.defaultBillUnitId, next.defaultBillUnitId);
  return issues;
}

// ---- bill units and open items ------------------------------------------------------------

export const OPEN_ITEM_KINDS = [
  'UNALLOCATED_PAYMENT',
  'UNALLOCATED_ADJUSTMENT',
  'OPEN_REFUND',
  'UNRESOLVED_DISPUTE',
] as const;
export type OpenItemKind = (typeof OPEN_ITEM_KINDS)[number];
export type OpenItemCounts = Record<OpenItemKind, number>;
export const noOpenItems = (): OpenItemCounts => ({
  UNALLOCATED_PAYMENT: 0,
  UNALLOCATED_ADJUSTMENT: 0,
  OPEN_REFUND: 0,
  UNRESOLVED_DISPUTE: 0,
});

export interface BillUnit {
  billUnitId: string;
  accountId: string;
  name?: string;
  isDefault: boolean;
  /** Balance-group items assigned to it (a never-moved subscription's group is implicit in the default bill unit). */
  balanceGroups: number;
  /** Open items that block moving a balance group out of it. */
  openItems: number;
  openItemCounts: OpenItemCounts;
  createdAt: string;
}

/** Counts of open items by kind, for refusal messages. */
export const describeOpenItems = (counts: OpenItemCounts): string =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');

export const BillUnitInput = z.strictObject({
  billUnitId: Id,
  name: z.string().min(1).max(100).optional(),
});

export const OPEN_ITEM_STATUSES = ['OPEN', 'RESOLVED'] as const;
export type OpenItemStatus = (typeof OPEN_ITEM_STATUSES)[number];

export interface OpenItem {
  openItemId: string;
  billUnitId: string;
  accountId: string;
  kind: OpenItemKind;
  status: OpenItemStatus;
  /** Minor units of the account's currency, when the item carries an amount. */
  amount?: bigint;
  reference?: string;
  note?: string;
  recordedAt: string;
  recordedBy: string;
  resolvedAt?: string;
  resolvedBy?: string;
  resolution?: string;
}

export const OpenItemInput = z.strictObject({
  openItemId: Id.optional(),
  kind: z.enum(OPEN_ITEM_KINDS),
  amount: MoneyInput.optional(),
  /** The AR system's id of the payment, refund or dispute. */
  reference: z.string().min(1).max(100).optional(),
  note: z.string().max(200).optional(),
});

export const ResolveOpenItemInput = z.strictObject({ resolution: z.string().max(200).optional() });

// ---- balance groups -------------------------------------------------------------------------

/**
 * A subscription's registers form its balance group, whose id is the subscription id. Groups the
 * system creates start with `_`, which an `Id` never does, so they cannot collide with one.
 */
export const DEFAULT_BALANCE_GROUP_ID = '_default';
export const emptyBalanceGroupId = (billUnitId: string) => `_empty.${billUnitId}`;

export const BALANCE_GROUP_KINDS = ['ACCOUNT', 'SUBSCRIPTION', 'EMPTY'] as const;
export type BalanceGroupKind = (typeof BALANCE_GROUP_KINDS)[number];

export const balanceGroupKind = (balanceGroupId: string): BalanceGroupKind =>
  balanceGroupId === DEFAULT_BALANCE_GROUP_ID
    ? 'ACCOUNT'
    : balanceGroupId.startsWith('_empty.')
      ? 'EMPTY'
      : 'SUBSCRIPTION';

export const BalanceGroupId = z.union(
  [Id, z.literal(DEFAULT_BALANCE_GROUP_ID), z.string().regex(/^_empty\.[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)],
  {
    error: 'must be a subscription id, _default or _empty.<billUnitId>',
  },
);

export interface Assignment {
  billUnitId: string;
  from: string;
  by: string;
  moveId?: string;
}

export interface BalanceGroup {
  balanceGroupId: string;
  accountId: string;
  kind: BalanceGroupKind;
  billUnitId: string;
  /** Grows with every move; writes that depend on the assignment are conditional on it. */
  moveSeq: number;
  /** Every bill unit the group belonged to, oldest first. */
  history: Assignment[];
  /** False for a subscription's group that was never moved (no item: it is in the default bill unit). */
  stored: boolean;
}

// ---- audit ---------------------------------------------------------------------------------

export const ACCOUNT_ACTIONS = [
  'ACCOUNT_CREATED',
  'BILL_UNIT_CREATED',
  'OPEN_ITEM_RECORDED',
  'OPEN_ITEM_RESOLVED',
  'BALANCE_TRANSFERRED',
  'BALANCE_GROUP_MOVED',
  'BALANCE_ADJUSTED',
] as const;
export type AccountAction = (typeof ACCOUNT_ACTIONS)[number];

/** One line of an account's audit log, written in the same transaction as the change it records. */
export interface AccountLogEntry {
  accountId: string;
  /** The operation's business identity (transfer id, move id, ...). */
  operationId: string;
  at: string;
  actor: string;
  action: AccountAction;
  message: string;
  /** Amounts as decimal strings, ids and dates: what an auditor reads. */
  data: Record<string, string>;
}
