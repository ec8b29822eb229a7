// The one rule for effective dates: backdated adjustments, transfers and a batch's `effectiveAt`
// all ask `effectiveDateRefusal`. Pure: instants are canonical UTC strings (values.ts `Instant`),
// so they compare as strings; `now` is passed in.
import { billPeriodOf } from './rating';
import type { Refusal } from './errors';
import { FUTURE_TOLERANCE_MS } from './usage-event';

export interface EffectiveDateLimits {
  now: string;
  /** The account's creation instant: nothing is effective before the account existed. */
  accountCreatedAt?: string;
  /** The subscription's start instant (`subscriptionStart`), when the change is to a subscription. */
  subscriptionStart?: string;
  /** The last closed ledger period, `YYYY-MM`: its books are final. */
  closedThrough?: string;
}

/** The period an instant falls in (calendar month, UTC): the bill period and the ledger period. */
export const periodOf = billPeriodOf;

/** The first instant of a period: `2026-03` → `2026-03-01T00:00:00.000Z`. */
const periodStart = (period: string): string => `${period}-01T00:00:00.000Z`;

export function nextPeriod(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** The earliest instant still open for postings when the ledger is closed through `closedThrough`. */
export const firstOpenInstant = (closedThrough: string): string => periodStart(nextPeriod(closedThrough));

/**
 * Why an effective date is refused, or undefined when it is allowed: never in the future (beyond
 * the clock skew tolerated for usage events), never in a closed ledger period, never before the
 * account's creation or the subscription's start.
 */
export function effectiveDateRefusal(effectiveAt: string, limits: EffectiveDateLimits): Refusal | undefined {
  if (Date.parse(effectiveAt) > Date.parse(limits.now) + FUTURE_TOLERANCE_MS) {
    return { code: 'FUTURE_DATED', message: `effective date ${effectiveAt} is in the future` };
  }
  if (limits.closedThrough !== undefined && effectiveAt < firstOpenInstant(limits.closedThrough)) {
    return {
      code: 'BACKDATE_OUT_OF_RANGE',
      message: `effective date ${effectiveAt} is in a closed ledger period (closed through ${limits.closedThrough})`,
    };
  }
  if (limits.accountCreatedAt !== undefined && effectiveAt < limits.accountCreatedAt) {
    return {
      code: 'BACKDATE_OUT_OF_RANGE',
      message: `effective date ${effectiveAt} is before the account's creation ${limits.accountCreatedAt}`,
    };
  }
  if (limits.subscriptionStart !== undefined && effectiveAt < limits.subscriptionStart) {
    return {
      code: 'BACKDATE_OUT_OF_RANGE',
      message: `effective date ${effectiveAt} is before the subscription's start ${limits.subscriptionStart}`,
    };
  }
  return undefined;
}

/**
 * The ledger close only moves forward, and only over periods that have ended: closing the
 * current month would refuse postings that are still legitimately arriving.
 * Asking for the period already closed is allowed (a no-op).
 */
export function ledgerCloseRefusal(next: string, current: string | undefined, now: string): Refusal | undefined {
  if (next >= periodOf(now))
    return {
      code: 'FUTURE_DATED',
      message: `period ${next} has not ended yet; the latest period that can be closed is the one before ${periodOf(now)}`,
    };
  if (current !== undefined && next < current) {
    return {
      code: 'INVALID_TRANSITION',
      message: `the ledger is closed through ${current}; the close only moves forward`,
    };
  }
  return undefined;
}
