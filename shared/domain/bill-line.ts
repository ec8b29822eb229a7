// Bill lines per subscription and period. The minimum true-up is derived from the line's usage
// and the period minimum it was rated under, so a total can never drift from its parts.
import { z } from 'zod';

export const BILL_STATUSES = ['OPEN', 'BILLED', 'INTERFACED'] as const;
export type BillStatus = (typeof BILL_STATUSES)[number];

export interface BillLine {
  subscriptionId: string;
  period: string;
  currency: string;
  /** Sum of the amounts of the period's rated events (minor units). */
  usageAmount: bigint;
  /** Sum of adjustments posted to the line (credits negative). */
  adjustments: bigint;
  /**
   * Balance-forward adjustments of already billed periods, carried into this bill's previous
   * balance: owed (or credited) with this bill, but not part of its charges or `billTotal`.
   */
  previousBalanceAdjustments: bigint;
  eventCount: number;
  periodMinimum?: bigint;
  status: BillStatus;
  /**
   * The bill unit the line belongs to, fixed when the line is created. Absent when the line was
   * created before the subscription's account existed: it then belongs to the default bill unit.
   */
  billUnitId?: string;
  updatedAt: string;
  /** Bumped by every write (rating, adjustments, status): a batch's plan holds only while it is unchanged. */
  version?: number;
}

export const minimumTrueUp = (line: Pick<BillLine, 'usageAmount' | 'periodMinimum'>): bigint =>
  line.periodMinimum !== undefined && line.usageAmount < line.periodMinimum
    ? line.periodMinimum - line.usageAmount
    : 0n;

export const billTotal = (line: Pick<BillLine, 'usageAmount' | 'periodMinimum' | 'adjustments'>): bigint =>
  line.usageAmount + minimumTrueUp(line) + line.adjustments;

/** Bill lines only move forward: billing sets BILLED, accounts receivable sets INTERFACED. */
const next: Record<BillStatus, BillStatus | undefined> = {
  OPEN: 'BILLED',
  BILLED: 'INTERFACED',
  INTERFACED: undefined,
};

export function previousStatus(to: BillStatus): BillStatus | undefined {
  return (Object.keys(next) as BillStatus[]).find((s) => next[s] === to);
}

export const BillStatusInput = z.strictObject({ status: z.enum(['BILLED', 'INTERFACED']) });
