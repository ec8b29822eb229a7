// Transfers of an amount between two registers of one account. Pure: input, refusals, and the
// plan (which grants give, which grants receive, the two linked ledger entries).
// See docs/balance-management.md, "Transfers".
import { z } from 'zod';
import type { Counterpart, GrantTake, LedgerEntry } from './balance';
import type { Subscription } from './subscription';
import type { Refusal } from './errors';
import { Id, Instant, Quantity, RegisterName } from './values';

/** Upper bound on one transfer, so a typo of extra digits is refused (as for grants). */
const MAX_TRANSFER = 10n ** 12n * 10n ** 6n;

const RegisterRefInput = z.strictObject({ subscriptionId: Id, register: RegisterName });

export const TransferInput = z.strictObject({
  from: RegisterRefInput,
  to: RegisterRefInput,
  amount: Quantity.refine((q) => q > 0n, 'must be greater than zero').refine(
    (q) => q <= MAX_TRANSFER,
    'is implausibly large',
  ),
  reason: z.string().min(1).max(200).optional(),
  /** When the moved allowance counts from on the target; defaults to now. */
  effectiveAt: Instant.optional(),
});

export type TransferRequest = z.output<typeof TransferInput>;

/** Refusals that need only the two subscriptions; balance and dates are checked elsewhere. */
export function transferRefusal(from: Subscription, to: Subscription, req: TransferRequest): Refusal | undefined {
  if (from.accountId !== to.accountId) {
    return {
      code: 'CROSS_ACCOUNT',
      message: `subscription ${from.subscriptionId} is in account ${from.accountId} and ${to.subscriptionId} in ${to.accountId}`,
    };
  }
  if (req.from.register !== req.to.register) {
    return {
      code: 'RESOURCE_MISMATCH',
      message: `cannot transfer ${req.from.register} into ${req.to.register}: a transfer stays within one resource`,
    };
  }
  if (from.subscriptionId === to.subscriptionId)
    return { code: 'VALIDATION_FAILED', message: 'a transfer needs two different registers' };
  return undefined;
}

export interface CreditGrant {
  grantId: string;
  amount: bigint;
  validFrom: string;
  validTo?: string;
}

/**
 * The grants a transfer creates on the target: valid from the transfer's effective instant and
 * expiring when the allowance they came from expires, one per distinct expiry, so a transfer
 * never makes allowance live longer than it would have on the source.
 */
export function creditGrants(takes: readonly GrantTake[], transferId: string, validFrom: string): CreditGrant[] {
  const byExpiry = new Map<string, bigint>();
  for (const t of takes) byExpiry.set(t.validTo ?? '', (byExpiry.get(t.validTo ?? '') ?? 0n) + t.take);
  const expiries = [...byExpiry.keys()];
  return expiries.map((validTo, i) => ({
    grantId: expiries.length === 1 ? `transfer:${transferId}` : `transfer:${transferId}:${i + 1}`,
    amount: byExpiry.get(validTo)!,
    validFrom,
    ...(validTo ? { validTo } : {}),
  }));
}

export interface TransferEntries {
  out: LedgerEntry;
  in: LedgerEntry;
  credits: CreditGrant[];
}

/** The two ledger entries of a transfer, each naming the other, and the grants the credit creates. */
export function transferEntries(
  req: TransferRequest,
  transferId: string,
  takes: readonly GrantTake[],
  context: { effectiveAt: string; now: string; actor: string },
): TransferEntries {
  const outRef: Counterpart = {
    subscriptionId: req.from.subscriptionId,
    register: req.from.register,
    entryId: `transfer:${transferId}:out`,
  };
  const inRef: Counterpart = {
    subscriptionId: req.to.subscriptionId,
    register: req.to.register,
    entryId: `transfer:${transferId}:in`,
  };
  const credits = creditGrants(takes, transferId, context.effectiveAt);
  const common = {
    consumed: 0n,
    at: context.now,
    actor: context.actor,
    effectiveAt: context.effectiveAt,
    transferId,
    ...(req.reason ? { reason: req.reason } : {}),
  };
  return {
    out: {
      ...common,
      entryId: outRef.entryId,
      subscriptionId: outRef.subscriptionId,
      register: outRef.register,
      kind: 'TRANSFER_OUT',
      granted: -req.amount,
      counterpart: inRef,
      grantChanges: takes.map((t) => ({ grantId: t.grantId, amount: -t.take })),
    },
    in: {
      ...common,
      entryId: inRef.entryId,
      subscriptionId: inRef.subscriptionId,
      register: inRef.register,
      kind: 'TRANSFER_IN',
      granted: req.amount,
      counterpart: outRef,
      grantChanges: credits.map((c) => ({ grantId: c.grantId, amount: c.amount })),
    },
    credits,
  };
}
