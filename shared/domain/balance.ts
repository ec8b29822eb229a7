// Balance registers, grants and ledger entries. A register's value is always the sum of its
// ledger entries: `granted` and `consumed` move only together with the entry that explains them.
import { z } from 'zod';
import type { Refusal } from './usage-event';
import { subscriptionStart, type Subscription } from './subscription';
import { Instant, Quantity } from './values';

export type LedgerKind = 'GRANT' | 'CONSUMPTION';

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
}

export interface Register {
  subscriptionId: string;
  register: string;
  granted: bigint;
  consumed: bigint;
  updatedAt: string;
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
}

/** Upper bound on one grant, so a typo of extra digits is refused rather than granted. */
const MAX_GRANT = 10n ** 12n * 10n ** 6n;

export const GrantInput = z.strictObject({
  amount: Quantity.refine((q) => q > 0n, 'must be greater than zero').refine((q) => q <= MAX_GRANT, 'is implausibly large'),
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

export const isValidAt = (g: Pick<Grant, 'validFrom' | 'validTo'>, at: string) => g.validFrom <= at && (g.validTo === undefined || at < g.validTo);

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
