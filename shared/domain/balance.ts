// Balance registers, grants and ledger entries. A register's value is always the sum of its
// ledger entries: `granted` and `consumed` move only together with the entry that explains them.
import { z } from 'zod';
import type { Refusal } from './errors';
import { subscriptionStart, type Subscription } from './subscription';
import { formatQuantity } from './decimal';
import { compareGrants } from './rating';
import { Instant, Quantity } from './values';

/** TRANSFER_OUT and TRANSFER_IN come in pairs, one transaction, each naming the other. */
export const LEDGER_KINDS = ['GRANT', 'CONSUMPTION', 'TRANSFER_OUT', 'TRANSFER_IN', 'ADJUSTMENT'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** A change of one grant's amount explained by a ledger entry (debits negative). */
export interface GrantChange {
  grantId: string;
  amount: bigint;
}

/** The other side of a transfer. */
export interface Counterpart {
  subscriptionId: string;
  register: string;
  entryId: string;
}

export interface LedgerEntry {
  /** The entry's idempotency key: the same business step always yields the same key. */
  entryId: string;
  subscriptionId: string;
  register: string;
  kind: LedgerKind;
  /** Signed change of the register's granted total (scaled quantity). */
  granted: bigint;
  /** Signed change of the register's consumed total (scaled quantity). */
  consumed: bigint;
  at: string;
  actor: string;
  reason?: string;
  grantId?: string;
  batchId?: string;
  eventCount?: number;
  /** Business date of a transfer or adjustment, when it differs in meaning from `at` (when it was recorded). */
  effectiveAt?: string;
  transferId?: string;
  adjustmentId?: string;
  counterpart?: Counterpart;
  /** The grants whose amounts the entry changed; they add up to `granted`. */
  grantChanges?: GrantChange[];
}

export interface Register {
  subscriptionId: string;
  register: string;
  granted: bigint;
  consumed: bigint;
  updatedAt: string;
  /** Bumped by every write: a batch's plan is applied only while the versions it read still hold. */
  version?: number;
}

export interface Grant {
  grantId: string;
  register: string;
  amount: bigint;
  /** How much of it rated events have drawn. */
  drawn: bigint;
  validFrom: string;
  validTo?: string;
  reason?: string;
  createdAt: string;
  /** Bumped by every write (draws, debits): see Register.version. */
  version?: number;
}

/** Upper bound on one grant, so a typo of extra digits is refused rather than granted. */
const MAX_GRANT = 10n ** 12n * 10n ** 6n;

export const GrantInput = z.strictObject({
  amount: Quantity.refine((q) => q > 0n, 'must be greater than zero').refine(
    (q) => q <= MAX_GRANT,
    'is implausibly large',
  ),
  validFrom: Instant.optional(),
  validTo: Instant.optional(),
  reason: z.string().max(200).optional(),
});

export type GrantRequest = z.output<typeof GrantInput>;

/**
 * A grant defaults to valid from the subscription's start, open-ended: a top-up then covers the
 * usage it was bought for even when that usage is already rated (re-rating consumes it).
 */
export function grantWindow(req: GrantRequest, sub: Subscription): { validFrom: string; validTo?: string } | Refusal {
  const validFrom = req.validFrom ?? subscriptionStart(sub);
  if (validFrom < subscriptionStart(sub)) {
    return { code: 'BACKDATE_OUT_OF_RANGE', message: `validFrom is before the subscription's start ${sub.startDate}` };
  }
  if (req.validTo !== undefined && req.validTo <= validFrom) {
    return { code: 'VALIDATION_FAILED', message: 'validTo must be after validFrom' };
  }
  return req.validTo !== undefined ? { validFrom, validTo: req.validTo } : { validFrom };
}

export const isValidAt = (g: Pick<Grant, 'validFrom' | 'validTo'>, at: string) =>
  g.validFrom <= at && (g.validTo === undefined || at < g.validTo);

export interface BalanceView {
  register: string;
  granted: bigint;
  consumed: bigint;
  /** Unconsumed allowance of the grants valid at `now`. */
  available: bigint;
}

export function balanceOf(reg: Register, grants: Grant[], now: string): BalanceView {
  let available = 0n;
  for (const g of grants) if (g.register === reg.register && isValidAt(g, now)) available += g.amount - g.drawn;
  return { register: reg.register, granted: reg.granted, consumed: reg.consumed, available };
}

// ---- taking allowance away (transfers out, debit adjustments) ----------------------------

/** A debit touching more grants than this is refused: its transaction would pass DynamoDB's 100 items. */
export const MAX_GRANTS_PER_DEBIT = 40;

export interface GrantTake {
  grantId: string;
  take: bigint;
  validFrom: string;
  validTo?: string;
}

export type DebitPlan =
  | { ok: true; takes: GrantTake[] }
  | { ok: false; code: 'INSUFFICIENT_BALANCE' | 'VALIDATION_FAILED'; message: string };

/**
 * Which grants a debit of `amount` takes from: only allowance still undrawn in grants valid at
 * `at`, in the order rating would draw it (so the debit takes what the register would use next).
 * Expired leftovers are forfeited and cannot be given away.
 */
export function planDebit(grants: readonly Grant[], register: string, amount: bigint, at: string): DebitPlan {
  const usable = grants
    .filter((g) => g.register === register && isValidAt(g, at) && g.amount > g.drawn)
    .sort(compareGrants);
  const takes: GrantTake[] = [];
  let need = amount;
  for (const g of usable) {
    if (need === 0n) break;
    const undrawn = g.amount - g.drawn;
    const take = undrawn < need ? undrawn : need;
    takes.push({ grantId: g.grantId, take, validFrom: g.validFrom, ...(g.validTo ? { validTo: g.validTo } : {}) });
    need -= take;
  }
  if (need > 0n) {
    return {
      ok: false,
      code: 'INSUFFICIENT_BALANCE',
      message: `${register} holds ${formatQuantity(amount - need)} available at ${at}, less than ${formatQuantity(amount)}`,
    };
  }
  if (takes.length > MAX_GRANTS_PER_DEBIT) {
    return {
      ok: false,
      code: 'VALIDATION_FAILED',
      message: `the amount is spread over ${takes.length} grants (at most ${MAX_GRANTS_PER_DEBIT} a transaction); move it in smaller amounts`,
    };
  }
  return { ok: true, takes };
}
