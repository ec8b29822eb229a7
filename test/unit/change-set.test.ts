import { describe, expect, it } from 'vitest';
import type { BillLine, BillStatus } from '../../shared/domain/bill-line';
import { subscriptionChange, type SubscriptionChangeInput } from '../../shared/domain/change-set';
import type { PartitionPlan } from '../../shared/domain/partition-plan';

/** A plan whose only content is its bill deltas (what subscriptionChange reads). */
const plan = (register: string, deltas: Array<[period: string, usage: bigint, count: number]>): PartitionPlan => ({
  subscriptionId: 's',
  register,
  currency: 'USD',
  ratings: [],
  changes: deltas.map(([period, usageAmount, eventCount], i) => ({
    eventId: `${register}-${i}`,
    fromRev: 1,
    status: 'RATED',
    rating: {
      allowanceUsed: 0n,
      draws: [],
      overageQuantity: 0n,
      unitPrice: 0n,
      amount: 0n,
      billPeriod: period,
      planVersion: 1,
      ratedAt: '',
    },
    grantDeltas: [],
    consumedDelta: 0n,
    billDeltas: [{ period, usageAmount, eventCount }],
  })),
});
const line = (period: string, usageAmount: bigint, status: BillStatus = 'OPEN', periodMinimum?: bigint): BillLine => ({
  subscriptionId: 's',
  period,
  currency: 'USD',
  usageAmount,
  adjustments: 0n,
  previousBalanceAdjustments: 0n,
  eventCount: 2,
  ...(periodMinimum !== undefined ? { periodMinimum } : {}),
  status,
  updatedAt: '',
  version: 3,
});
const input = (over: Partial<SubscriptionChangeInput>): SubscriptionChangeInput => ({
  plans: [],
  lines: [],
  correctedUsage: new Map(),
  policy: { arPolicy: 'REJECT', creditOnly: false },
  ...over,
});

describe('subscriptionChange', () => {
  it('sums the registers of a period before the minimum: 8.00 → 5.00 when both registers drop (−2.50, −1.50)', () => {
    const c = subscriptionChange(
      input({
        periodMinimum: 500n,
        lines: [line('2026-03', 800n, 'OPEN', 500n)],
        plans: [plan('MINUTES', [['2026-03', -250n, 0]]), plan('DATA_MB', [['2026-03', -150n, 0]])],
      }),
    );
    expect(c.lines).toEqual([
      expect.objectContaining({
        period: '2026-03',
        version: 3,
        usageDelta: -400n,
        before: { usage: 800n, trueUp: 0n, adjustments: 0n, total: 800n },
        after: { usage: 400n, trueUp: 100n, adjustments: 0n, total: 500n },
      }),
    ]);
    expect(c.chargeDelta).toBe(-300n);
  });

  it('trues up a line the batch creates', () => {
    const c = subscriptionChange(input({ periodMinimum: 500n, plans: [plan('MINUTES', [['2026-04', 150n, 1]])] }));
    expect(c.lines[0]).toMatchObject({
      created: true,
      version: 0,
      periodMinimum: 500n,
      after: { usage: 150n, trueUp: 350n, total: 500n },
    });
    expect(c.chargeDelta).toBe(500n);
  });

  it('refuses a frozen period under REJECT with the code of its reason', () => {
    const closed = subscriptionChange(
      input({
        closedThrough: '2026-03',
        plans: [plan('MINUTES', [['2026-03', 10n, 0]])],
        lines: [line('2026-03', 100n)],
      }),
    );
    expect(closed.error?.code).toBe('PERIOD_CLOSED');
    const early = subscriptionChange(
      input({ accountPeriod: '2026-05', plans: [plan('MINUTES', [['2026-04', 10n, 1]])] }),
    );
    expect(early.error?.code).toBe('BEFORE_ACCOUNT_CREATED');
    const interfaced = subscriptionChange(
      input({ plans: [plan('MINUTES', [['2026-03', 10n, 0]])], lines: [line('2026-03', 100n, 'INTERFACED')] }),
    );
    expect(interfaced.error?.code).toBe('AR_INTERFACED');
  });

  it('credits the billed total and rebills the corrected one, true-up included, in the first open period after the frozen ones', () => {
    const c = subscriptionChange(
      input({
        periodMinimum: 500n,
        policy: { arPolicy: 'CREDIT_REBILL', creditOnly: false },
        lines: [line('2026-03', 300n, 'INTERFACED', 500n), line('2026-04', 600n, 'BILLED', 500n)],
        plans: [plan('MINUTES', [['2026-03', -150n, 0]])],
      }),
    );
    expect(c.documents).toEqual([
      {
        kind: 'CREDIT',
        amount: -500n,
        originalPeriod: '2026-03',
        period: '2026-05',
        usageBefore: 300n,
        usageAfter: 150n,
      },
      {
        kind: 'REBILL',
        amount: 500n,
        originalPeriod: '2026-03',
        period: '2026-05',
        usageBefore: 300n,
        usageAfter: 150n,
      },
    ]);
    expect(c.lines.map((l) => [l.period, l.frozenBecause, l.postedTo, l.after.total])).toEqual([
      ['2026-03', 'INTERFACED', '2026-05', 500n],
      // Created only to carry the credit/rebill: no usage, so no minimum.
      ['2026-05', undefined, undefined, 0n],
    ]);
  });

  it('starts from the usage the last credit/rebill left a frozen period at', () => {
    const c = subscriptionChange(
      input({
        policy: { arPolicy: 'CREDIT_REBILL', creditOnly: false },
        lines: [line('2026-03', 300n, 'INTERFACED')],
        correctedUsage: new Map([['2026-03', 200n]]),
        plans: [plan('MINUTES', [['2026-03', 100n, 0]])],
      }),
    );
    expect(c.documents.map((d) => [d.kind, d.amount])).toEqual([
      ['CREDIT', -200n],
      ['REBILL', 300n],
    ]);
  });

  it('credit-only: a billed line is frozen, only a decrease is credited, an increase stays unbilled', () => {
    const policy = { arPolicy: 'REJECT' as const, creditOnly: true };
    const down = subscriptionChange(
      input({ policy, lines: [line('2026-03', 300n, 'BILLED')], plans: [plan('MINUTES', [['2026-03', -100n, -1]])] }),
    );
    expect(down.documents).toEqual([expect.objectContaining({ kind: 'CREDIT', amount: -100n, period: '2026-04' })]);
    expect(down.lines[0]).toMatchObject({ frozenBecause: 'BILLED', reinvoiceRequired: false });
    const up = subscriptionChange(
      input({ policy, lines: [line('2026-03', 300n, 'BILLED')], plans: [plan('MINUTES', [['2026-03', 100n, 0]])] }),
    );
    expect(up.documents).toEqual([]);
  });

  it('flags a billed line changed in place for re-invoicing', () => {
    const c = subscriptionChange(
      input({ lines: [line('2026-03', 300n, 'BILLED')], plans: [plan('MINUTES', [['2026-03', 100n, 0]])] }),
    );
    expect(c.lines[0]).toMatchObject({ status: 'BILLED', reinvoiceRequired: true, after: { total: 400n } });
  });
});
