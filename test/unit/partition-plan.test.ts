import { describe, expect, it } from 'vitest';
import type { Grant } from '../../shared/domain/balance';
import { planPartition } from '../../shared/domain/partition-plan';
import type { Subscription } from '../../shared/domain/subscription';
import type { UsageEvent } from '../../shared/domain/usage-event';

const sub: Subscription = {
  subscriptionId: 's',
  accountId: 'a',
  startDate: '2026-01-01',
  currency: 'USD',
  products: { voice: { register: 'MINUTES', unitPrice: 50_000n } },
  planVersion: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const M = 1_000_000n;
const grant = (grantId: string, amount: bigint, createdAt: string, drawn = 0n): Grant => ({
  grantId,
  register: 'MINUTES',
  amount,
  drawn,
  validFrom: '2026-01-01T00:00:00.000Z',
  createdAt,
});
const loaded = (eventId: string, quantity: bigint, day: number): UsageEvent => ({
  eventId,
  subscriptionId: 's',
  productId: 'voice',
  register: 'MINUTES',
  quantity,
  occurredAt: `2026-03-0${day}T10:00:00.000Z`,
  attributes: {},
  status: 'LOADED',
  ratingRev: 0,
  createdAt: '2026-03-10T00:00:00.000Z',
});

describe('planPartition', () => {
  it('rates the worked example and reports each event change with its deltas', () => {
    const events = [loaded('e1', 30n * M, 1), loaded('e2', 50n * M, 2), loaded('e3', 40n * M, 3)];
    const plan = planPartition(
      {
        subscription: sub,
        register: 'MINUTES',
        grants: [grant('g1', 100n * M, '2026-01-01T00:00:00.000Z')],
        events,
        toRate: new Set(['e1', 'e2', 'e3']),
      },
      '2026-03-10T00:00:00.000Z',
    );
    expect(plan.changes.map((c) => [c.eventId, c.rating.amount, c.consumedDelta])).toEqual([
      ['e1', 0n, 30n * M],
      ['e2', 0n, 50n * M],
      ['e3', 100n, 20n * M],
    ]);
    expect(plan.changes[2]!.billDeltas).toEqual([{ period: '2026-03', usageAmount: 100n, eventCount: 1 }]);
  });

  it('draws a top-up after the older grant of the same window, so earlier events keep their draws', () => {
    const rated = (e: UsageEvent, used: bigint, amount: bigint): UsageEvent => ({
      ...e,
      status: 'RATED',
      ratingRev: 1,
      rating: {
        allowanceUsed: used,
        draws: used > 0n ? [{ grantId: 'z-first', quantity: used }] : [],
        overageQuantity: e.quantity - used,
        unitPrice: 50_000n,
        amount,
        billPeriod: '2026-03',
        planVersion: 1,
        ratedAt: 'x',
      },
    });
    const events = [
      rated(loaded('e1', 30n * M, 1), 30n * M, 0n),
      rated(loaded('e2', 50n * M, 2), 50n * M, 0n),
      rated(loaded('e3', 40n * M, 3), 20n * M, 100n),
    ];
    // The top-up's id sorts first; its creation time does not.
    const grants = [
      grant('z-first', 100n * M, '2026-01-01T00:00:00.000Z', 100n * M),
      grant('a-topup', 50n * M, '2026-03-09T00:00:00.000Z'),
    ];
    const plan = planPartition(
      { subscription: sub, register: 'MINUTES', grants, events, toRate: new Set() },
      '2026-03-10T00:00:00.000Z',
    );
    expect(plan.changes.map((c) => c.eventId)).toEqual(['e3']);
    expect(plan.changes[0]!.rating.draws).toEqual([
      { grantId: 'z-first', quantity: 20n * M },
      { grantId: 'a-topup', quantity: 20n * M },
    ]);
    expect(plan.changes[0]!.grantDeltas).toEqual([{ grantId: 'a-topup', quantity: 20n * M }]);
    expect(plan.changes[0]!.billDeltas).toEqual([{ period: '2026-03', usageAmount: -100n, eventCount: 0 }]);
  });

  it('leaves LOADED events outside the batch unrated and marks zero quantities EXCLUDED', () => {
    const events = [loaded('e1', 0n, 1), loaded('e2', 5n * M, 2)];
    const plan = planPartition(
      { subscription: sub, register: 'MINUTES', grants: [], events, toRate: new Set(['e1']) },
      '2026-03-10T00:00:00.000Z',
    );
    expect(plan.changes.map((c) => [c.eventId, c.status])).toEqual([['e1', 'EXCLUDED']]);
  });
});
