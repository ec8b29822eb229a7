// What a batch does to one subscription's bill lines, computed as a whole: the usage deltas of
// every register's plan are summed per period first, then each line's minimum true-up, status
// rule and protection (ledger close, account creation, interfaced, credit-only on billed) are
// applied once. Lock stores the result; submit writes exactly it. Pure.
import { minimumTrueUp, type BillLine, type BillStatus } from './bill-line';
import { nextPeriod } from './effective-date';
import type { ErrorCode } from './errors';
import type { PartitionPlan } from './partition-plan';

export interface LineAmounts {
  usage: bigint;
  trueUp: bigint;
  adjustments: bigint;
  total: bigint;
}

/** Why a period's line is not changed in place: its correction is posted elsewhere as credit/rebill. */
export type FrozenBecause = 'INTERFACED' | 'PERIOD_CLOSED' | 'BEFORE_ACCOUNT' | 'BILLED';

export interface BillLineChange {
  period: string;
  /** The line's status when the plan was made (OPEN for a line the batch creates). */
  status: BillStatus;
  /** The line does not exist yet: the batch creates it. */
  created: boolean;
  /** The line's version read at lock (0 when it does not exist). */
  version: number;
  before: LineAmounts;
  /** The line as submit leaves it (equal to `before` for a frozen line). */
  after: LineAmounts;
  /** Written to the line: usage and event count (0 for a frozen line) and adjustments (credit/rebill posted here). */
  usageDelta: bigint;
  eventCountDelta: number;
  adjustmentsDelta: bigint;
  /** The period minimum the line is written with (absent: none). */
  periodMinimum?: bigint;
  /** A BILLED line changes: the issued bill must be re-issued (a domain event tells the billing system). */
  reinvoiceRequired: boolean;
  /** Frozen: the correction goes to `postedTo` as credit (and rebill). */
  frozenBecause?: FrozenBecause;
  postedTo?: string;
  /** Frozen: the total the period would have now (true-up included); the credit/rebill carries the difference. */
  correctedTotal?: bigint;
  /** Frozen: the usage the period's events now rate to. */
  correctedUsage?: bigint;
}

export interface CreditRebillDocument {
  kind: 'CREDIT' | 'REBILL';
  /** Minor units: a credit is negative. */
  amount: bigint;
  /** The period it corrects. */
  originalPeriod: string;
  /** The open period it is posted to. */
  period: string;
  /** The period's usage before and after the correction (what its events rate to). */
  usageBefore: bigint;
  usageAfter: bigint;
}

export interface ChangePolicy {
  arPolicy: 'REJECT' | 'CREDIT_REBILL';
  creditOnly: boolean;
}

export interface SubscriptionChangeInput {
  /** The subscription's current period minimum: every line the batch writes gets it. */
  periodMinimum?: bigint;
  plans: readonly PartitionPlan[];
  lines: readonly BillLine[];
  /** Per period already corrected by credit/rebill: the usage its events rate to now. */
  correctedUsage: ReadonlyMap<string, bigint>;
  policy: ChangePolicy;
  /** The last period closed in the ledger. */
  closedThrough?: string;
  /** The period the subscription's account was created in. */
  accountPeriod?: string;
}

export interface SubscriptionChange {
  error?: { code: ErrorCode; message: string };
  lines: BillLineChange[];
  documents: CreditRebillDocument[];
  /** Σ (after − before) over the lines: what the customer owes more (or less). */
  chargeDelta: bigint;
}

const amounts = (usage: bigint, periodMinimum: bigint | undefined, adjustments: bigint): LineAmounts => {
  const trueUp = minimumTrueUp({ usageAmount: usage, ...(periodMinimum !== undefined ? { periodMinimum } : {}) });
  return { usage, trueUp, adjustments, total: usage + trueUp + adjustments };
};
const ZERO: LineAmounts = { usage: 0n, trueUp: 0n, adjustments: 0n, total: 0n };

const refusalCode: Record<FrozenBecause, ErrorCode> = {
  INTERFACED: 'AR_INTERFACED',
  PERIOD_CLOSED: 'PERIOD_CLOSED',
  BEFORE_ACCOUNT: 'BEFORE_ACCOUNT_CREATED',
  BILLED: 'AR_INTERFACED',
};

/** The lines and credit/rebill documents one subscription's plans produce. */
export function subscriptionChange(input: SubscriptionChangeInput): SubscriptionChange {
  const { policy, closedThrough, accountPeriod } = input;
  const lines = new Map(input.lines.map((l) => [l.period, l]));
  const usage = new Map<string, { amount: bigint; count: number }>();
  for (const plan of input.plans) {
    for (const c of plan.changes) {
      for (const d of c.billDeltas) {
        const u = usage.get(d.period) ?? { amount: 0n, count: 0 };
        u.amount += d.usageAmount;
        u.count += d.eventCount;
        usage.set(d.period, u);
      }
    }
  }
  const frozenBecause = (period: string): FrozenBecause | undefined => {
    const line = lines.get(period);
    if (closedThrough !== undefined && period <= closedThrough) return 'PERIOD_CLOSED';
    if (accountPeriod !== undefined && period < accountPeriod) return 'BEFORE_ACCOUNT';
    if (line?.status === 'INTERFACED') return 'INTERFACED';
    // A credit-only correction never reopens an issued bill: it is credited on the next one.
    if (line?.status === 'BILLED' && policy.creditOnly) return 'BILLED';
    return undefined;
  };
  const periods = [...usage.keys()].sort();
  const frozen = periods.filter((p) => frozenBecause(p) !== undefined);
  const redirect = policy.arPolicy === 'CREDIT_REBILL' || policy.creditOnly;
  for (const p of frozen) {
    const why = frozenBecause(p)!;
    if (!redirect) {
      const message =
        why === 'PERIOD_CLOSED'
          ? `bill period ${p} is closed in the ledger (closed through ${closedThrough}); use arPolicy CREDIT_REBILL to post the change in the earliest open period`
          : why === 'BEFORE_ACCOUNT'
            ? `bill period ${p} is before the account was created (${accountPeriod}); use arPolicy CREDIT_REBILL to post the change in the earliest open period`
            : `bill period ${p} is interfaced to accounts receivable`;
      return { error: { code: refusalCode[why], message }, lines: [], documents: [], chargeDelta: 0n };
    }
  }

  const out = new Map<string, BillLineChange>();
  const lineChange = (period: string): BillLineChange => {
    const existing = out.get(period);
    if (existing) return existing;
    const line = lines.get(period);
    const before = line ? amounts(line.usageAmount, line.periodMinimum, line.adjustments) : ZERO;
    const c: BillLineChange = {
      period,
      status: line?.status ?? 'OPEN',
      created: !line,
      version: line?.version ?? 0,
      before,
      after: before,
      usageDelta: 0n,
      eventCountDelta: 0,
      adjustmentsDelta: 0n,
      reinvoiceRequired: false,
    };
    out.set(period, c);
    return c;
  };

  const documents: CreditRebillDocument[] = [];
  if (frozen.length > 0) {
    const target = firstOpenPeriod(
      frozen.at(-1)!,
      (p) => frozenBecause(p) !== undefined || (lines.get(p)?.status ?? 'OPEN') !== 'OPEN',
    );
    for (const p of frozen) {
      const line = lines.get(p);
      const u = usage.get(p)!;
      const usageBefore = input.correctedUsage.get(p) ?? line?.usageAmount ?? 0n;
      const usageAfter = usageBefore + u.amount;
      const minimum = line ? line.periodMinimum : input.periodMinimum;
      const adjustments = line?.adjustments ?? 0n;
      // What was billed for the period (its last credit/rebill included) and what it comes to now.
      const billed = line ? amounts(usageBefore, minimum, adjustments).total : 0n;
      const corrected = amounts(usageAfter, minimum, adjustments).total;
      const base = { originalPeriod: p, period: target, usageBefore, usageAfter };
      if (policy.creditOnly) {
        // Only a decrease is credited; an increase stays unbilled (a credit-only batch never charges).
        if (corrected < billed) documents.push({ ...base, kind: 'CREDIT', amount: corrected - billed });
      } else {
        if (billed !== 0n) documents.push({ ...base, kind: 'CREDIT', amount: -billed });
        if (corrected !== 0n) documents.push({ ...base, kind: 'REBILL', amount: corrected });
      }
      const c = lineChange(p);
      c.frozenBecause = frozenBecause(p)!;
      c.postedTo = target;
      c.correctedTotal = corrected;
      c.correctedUsage = usageAfter;
    }
    const posted = documents.reduce((s, d) => s + d.amount, 0n);
    if (posted !== 0n || documents.length > 0) lineChange(target).adjustmentsDelta += posted;
  }
  for (const p of periods) {
    if (frozen.includes(p)) continue;
    const c = lineChange(p);
    c.usageDelta += usage.get(p)!.amount;
    c.eventCountDelta += usage.get(p)!.count;
  }
  for (const c of out.values()) {
    if (c.frozenBecause) continue;
    const line = lines.get(c.period);
    // A line created only to carry a credit/rebill has no usage: no minimum until usage arrives.
    const minimum = c.created && c.eventCountDelta === 0 ? undefined : input.periodMinimum;
    if (minimum !== undefined) c.periodMinimum = minimum;
    c.after = amounts(
      (line?.usageAmount ?? 0n) + c.usageDelta,
      minimum,
      (line?.adjustments ?? 0n) + c.adjustmentsDelta,
    );
    c.reinvoiceRequired =
      c.status === 'BILLED' &&
      (c.after.total !== c.before.total ||
        c.after.usage !== c.before.usage ||
        c.after.adjustments !== c.before.adjustments);
  }
  const result = [...out.values()].sort((a, b) => (a.period < b.period ? -1 : 1));
  return { lines: result, documents, chargeDelta: result.reduce((s, l) => s + (l.after.total - l.before.total), 0n) };
}

/** The first period after `after` that is not `closed` (bounded: a ledger is not closed for centuries ahead). */
function firstOpenPeriod(after: string, closed: (period: string) => boolean): string {
  let p = nextPeriod(after);
  for (let i = 0; i < 1200 && closed(p); i++) p = nextPeriod(p);
  return p;
}
