// Adjustments: a debit or credit to a register (allowance, prepaid balance) or to a bill, usually
// backdated. Pure: input, signs, and where a bill adjustment lands given the account's accounting
// method. The date limits are effective-date.ts's. See docs/balance-management.md, "Adjustments".
import { z } from 'zod';
import type { AccountingMethod } from './account';
import type { BillLine } from './bill-line';
import { nextPeriod } from './effective-date';
import { Instant, MoneyInput, Quantity, RegisterName } from './values';

/** Upper bound on a register adjustment, as for grants. */
const MAX_QUANTITY = 10n ** 12n * 10n ** 6n;

export const ADJUSTMENT_TARGETS = ['REGISTER', 'BILL'] as const;
/** CREDIT is in the customer's favour: more allowance, or less to pay. */
export const ADJUSTMENT_DIRECTIONS = ['DEBIT', 'CREDIT'] as const;

const common = {
  direction: z.enum(ADJUSTMENT_DIRECTIONS),
  effectiveAt: Instant.optional(),
  reason: z.string().min(1).max(200),
};

export const AdjustmentInput = z.discriminatedUnion('target', [
  z.strictObject({
    target: z.literal('REGISTER'),
    register: RegisterName,
    amount: Quantity.refine((q) => q > 0n, 'must be greater than zero').refine(
      (q) => q <= MAX_QUANTITY,
      'is implausibly large',
    ),
    /** When a credit's allowance expires; open-ended by default. */
    validTo: Instant.optional(),
    ...common,
  }),
  z.strictObject({
    target: z.literal('BILL'),
    /** Money in the subscription's currency; parsed against it by the service. */
    amount: MoneyInput,
    ...common,
  }),
]);

export type AdjustmentRequest = z.output<typeof AdjustmentInput>;

/**
 * Where an adjustment went:
 * - REGISTER: the register's grants and ledger (no bill involved);
 * - ON_BILL: the bill line of its effective period, not billed yet: part of that bill's charges;
 * - PREVIOUS_BALANCE: balance-forward, its period already billed: the next unbilled line carries
 *   it in `previousBalanceAdjustments`, shown in that bill's previous balance, not its charges;
 * - AGAINST_BILLED_ITEM: open-item, its period already billed: settled against that bill in
 *   accounts receivable (the BALANCE_ADJUSTED event); no bill line changes.
 */
export const ADJUSTMENT_TREATMENTS = ['REGISTER', 'ON_BILL', 'PREVIOUS_BALANCE', 'AGAINST_BILLED_ITEM'] as const;
export type AdjustmentTreatment = (typeof ADJUSTMENT_TREATMENTS)[number];

export interface Adjustment {
  adjustmentId: string;
  subscriptionId: string;
  accountId: string;
  target: 'REGISTER' | 'BILL';
  direction: 'DEBIT' | 'CREDIT';
  /** Unsigned: a quantity of `register`, or minor units of `currency`. */
  amount: bigint;
  register?: string;
  currency?: string;
  validTo?: string;
  effectiveAt: string;
  treatment: AdjustmentTreatment;
  /** The bill period it was posted to, or (AGAINST_BILLED_ITEM) the billed period it settles against. */
  period?: string;
  at: string;
  actor: string;
  reason: string;
}

/** The adjustment's effect: on a register's granted total (credit adds), or on a bill (debit adds). */
export function signedAmount(a: Pick<Adjustment, 'target' | 'direction' | 'amount'>): bigint {
  const credit = a.direction === 'CREDIT';
  return a.target === 'REGISTER' ? (credit ? a.amount : -a.amount) : credit ? -a.amount : a.amount;
}

export type BillField = 'adjustments' | 'previousBalanceAdjustments';

export interface BillPosting {
  treatment: Exclude<AdjustmentTreatment, 'REGISTER'>;
  period: string;
  /** The line field it is added to; none for AGAINST_BILLED_ITEM. */
  field?: BillField;
}

const unbilled = (line: Pick<BillLine, 'status'> | undefined) => line === undefined || line.status === 'OPEN';

/**
 * Where a bill adjustment effective in `effectivePeriod` lands. A period not billed yet takes it
 * on its own line (whatever the method). Once billed, that line is final: balance-forward carries
 * the adjustment into the next unbilled line's previous balance; open-item settles it against the
 * billed item and keeps it off the current bill.
 */
export function billPosting(
  effectivePeriod: string,
  method: AccountingMethod,
  lines: ReadonlyArray<Pick<BillLine, 'period' | 'status'>>,
): BillPosting {
  const byPeriod = new Map(lines.map((l) => [l.period, l]));
  if (unbilled(byPeriod.get(effectivePeriod)))
    return { treatment: 'ON_BILL', period: effectivePeriod, field: 'adjustments' };
  if (method === 'OPEN_ITEM') return { treatment: 'AGAINST_BILLED_ITEM', period: effectivePeriod };
  let period = nextPeriod(effectivePeriod);
  while (!unbilled(byPeriod.get(period))) period = nextPeriod(period);
  return { treatment: 'PREVIOUS_BALANCE', period, field: 'previousBalanceAdjustments' };
}
