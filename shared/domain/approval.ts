// Four-eyes approval: when it applies to a locked batch, and whether a caller may submit it. Pure.
// The deployment setting turns it on (optionally above a threshold); a batch may ask for it
// always, never for less.
import { minorDigits, parseDecimal } from './decimal';
import type { ErrorCode } from './errors';

export interface ApprovalSetting {
  enabled: boolean;
  /** Applies only when the batch has at least this many members (counts.events)... */
  minEvents?: number;
  /** ...or when the preview's summed absolute charge change in one currency reaches this amount (currency units, e.g. "100.00"). */
  minChargeChange?: string;
}

export interface ApprovalFacts {
  /** The batch option `requireApproval`. */
  requested: boolean;
  events: number;
  /** Per currency, the sum over subscriptions of |charge change| in minor units (only needed with a charge threshold). */
  chargeChange?: ReadonlyMap<string, bigint>;
}

export interface ApprovalNeed {
  required: boolean;
  reason: string;
}

/** Whether a batch needs a second person to submit it. Without thresholds, an enabled setting applies to every batch. */
export function approvalNeed(setting: ApprovalSetting, facts: ApprovalFacts): ApprovalNeed {
  if (facts.requested) return { required: true, reason: 'the batch asks for approval (requireApproval)' };
  if (!setting.enabled) return { required: false, reason: 'approval is off for this deployment' };
  const { minEvents, minChargeChange } = setting;
  if (minEvents === undefined && minChargeChange === undefined)
    return { required: true, reason: 'approval is on for every batch' };
  if (minEvents !== undefined && facts.events >= minEvents)
    return { required: true, reason: `the batch has ${facts.events} member(s), at least ${minEvents}` };
  if (minChargeChange !== undefined) {
    for (const [currency, change] of facts.chargeChange ?? new Map()) {
      if (change >= thresholdInMinor(minChargeChange, currency))
        return { required: true, reason: `the preview changes charges in ${currency} by at least the threshold` };
    }
  }
  return { required: false, reason: 'the batch is below the approval threshold' };
}

/** The threshold (up to 6 decimals) in minor units of a currency; finer than the minor unit rounds up, never lowering it. */
export function thresholdInMinor(amount: string, currency: string): bigint {
  const parsed = parseDecimal(amount, 6);
  if (!parsed.ok) throw new RangeError(`approval threshold ${amount}: ${parsed.message}`);
  const scale = 10n ** BigInt(6 - minorDigits(currency));
  return (parsed.value + scale - 1n) / scale;
}

export interface SubmitAttempt {
  actor: string;
  /** Who locked the batch (undefined: locked before this was recorded). */
  lockedBy: string | undefined;
  /** The If-Match sent with submit (a wildcard counts as none: it approves nothing in particular). */
  ifMatch: string | undefined;
}

/**
 * Why a submit is refused under approval: the locker may not submit (SAME_ACTOR), and the approver
 * must name the preview approved (If-Match with its tag, else APPROVAL_REQUIRED).
 */
export function approvalRefusal(
  need: ApprovalNeed,
  a: SubmitAttempt,
): { code: ErrorCode; message: string } | undefined {
  if (!need.required) return undefined;
  if (a.lockedBy === undefined)
    return {
      code: 'APPROVAL_REQUIRED',
      message: `approval applies (${need.reason}) but who locked the batch is not known; revert and lock it again`,
    };
  if (a.actor === a.lockedBy)
    return {
      code: 'SAME_ACTOR',
      message: `approval applies (${need.reason}): the batch was locked by ${a.lockedBy}, so someone else must submit it`,
    };
  if (a.ifMatch === undefined || a.ifMatch.trim() === '' || a.ifMatch.trim() === '*') {
    return {
      code: 'APPROVAL_REQUIRED',
      message: `approval applies (${need.reason}): submit with If-Match set to the ETag of GET .../preview, the preview you approve`,
    };
  }
  return undefined;
}

/** How GET /v1/lookups names the caller condition on SUBMIT that `mayOfferSubmit` applies. */
export const SUBMIT_APPROVAL_CONDITION =
  'when four-eyes approval applies (see approval on the batch), the caller is not lockedBy, the one who locked it';

/** Whether SUBMIT is offered to this caller: not to the one who locked a batch that needs approval. */
export const mayOfferSubmit = (need: ApprovalNeed, actor: string | undefined, lockedBy: string | undefined): boolean =>
  !need.required || (actor !== undefined && lockedBy !== undefined && actor !== lockedBy);
