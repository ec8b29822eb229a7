// Plans the re-rating of one partition (subscription, register) from a start point: which
// events change, and by how much every grant, the register and each bill line move. Pure.
//
// The allowance left at the start point is each grant's amount, less what it has drawn, plus
// what the events from the start point on currently draw from it (they are about to be rated
// again). Events that come out of the re-rating unchanged produce no write at all.
import type { Grant } from './balance';
import { ratePartition, type EventRating, type RatableEvent } from './rating';
import type { Subscription } from './subscription';
import type { EventStatus, GrantDraw, StoredRating, UsageEvent } from './usage-event';

export interface PartitionSnapshot {
  subscription: Subscription;
  register: string;
  /** The register's grants, with what each has drawn so far. */
  grants: Grant[];
  /** The partition's events from the start point on, as stored (any order). */
  events: UsageEvent[];
  /** `LOADED` events to rate now; other `LOADED` events stay unrated. */
  toRate: ReadonlySet<string>;
  /** Events to reverse: they give back what they drew and charged, and keep their rating as history. */
  reverse?: ReadonlySet<string>;
}

export interface BillPeriodDelta {
  period: string;
  usageAmount: bigint;
  eventCount: number;
}

export interface EventChange {
  eventId: string;
  /** The event's `ratingRev` the plan was made from: the write is conditional on it. */
  fromRev: number;
  status: EventStatus;
  rating: StoredRating;
  before?: StoredRating;
  grantDeltas: GrantDraw[];
  consumedDelta: bigint;
  billDeltas: BillPeriodDelta[];
}

export interface PartitionPlan {
  subscriptionId: string;
  register: string;
  currency: string;
  changes: EventChange[];
  /** Every event rated by the plan, changed or not, in rating order. */
  ratings: EventRating[];
}

const isRated = (e: UsageEvent) => (e.status === 'RATED' || e.status === 'EXCLUDED') && e.rating !== undefined;

export function planPartition(s: PartitionSnapshot, now: string): PartitionPlan {
  const { subscription: sub, register } = s;
  const remaining = new Map(
    s.grants.filter((g) => g.register === register).map((g) => [g.grantId, g.amount - g.drawn]),
  );
  for (const e of s.events) {
    if (!isRated(e)) continue;
    for (const d of e.rating!.draws) remaining.set(d.grantId, (remaining.get(d.grantId) ?? 0n) + d.quantity);
  }
  const unitPrices: Record<string, bigint> = {};
  for (const [productId, plan] of Object.entries(sub.products))
    if (plan.register === register) unitPrices[productId] = plan.unitPrice;

  const byId = new Map(s.events.map((e) => [e.eventId, e]));
  const reverse = s.reverse ?? new Set<string>();
  const changes: EventChange[] = [];
  for (const e of s.events) {
    if (!reverse.has(e.eventId) || e.status === 'REVERSED') continue;
    const before = isRated(e) ? e.rating : undefined;
    changes.push({
      eventId: e.eventId,
      fromRev: e.ratingRev,
      status: 'REVERSED',
      // History is kept: a reversed event still shows how it was rated.
      rating: before ?? emptyRating(e, sub.planVersion, now),
      ...(before ? { before } : {}),
      grantDeltas: (before?.draws ?? []).map((d) => ({ grantId: d.grantId, quantity: -d.quantity })),
      consumedDelta: -(before?.allowanceUsed ?? 0n),
      billDeltas: before ? [{ period: before.billPeriod, usageAmount: -before.amount, eventCount: -1 }] : [],
    });
  }
  const ratable: RatableEvent[] = s.events
    .filter((e) => !reverse.has(e.eventId))
    .filter((e) => isRated(e) || (e.status === 'LOADED' && s.toRate.has(e.eventId)))
    .map((e) => ({
      eventId: e.eventId,
      productId: e.productId,
      quantity: e.quantity,
      occurredAt: e.occurredAt,
      ...(e.indexedVia ? { indexedVia: e.indexedVia } : {}),
    }));
  const grants = s.grants
    .filter((g) => g.register === register)
    .map((g) => ({
      grantId: g.grantId,
      amount: remaining.get(g.grantId) ?? 0n,
      validFrom: g.validFrom,
      createdAt: g.createdAt,
      ...(g.validTo ? { validTo: g.validTo } : {}),
    }));
  const result = ratePartition({ currency: sub.currency, unitPrices, grants, events: ratable });

  for (const r of result.ratings) {
    const event = byId.get(r.eventId)!;
    const status: EventStatus = event.quantity === 0n ? 'EXCLUDED' : 'RATED';
    const before = isRated(event) ? event.rating : undefined;
    if (before && event.status === status && sameRating(before, r)) continue;
    const rating: StoredRating = {
      allowanceUsed: r.allowanceUsed,
      draws: r.draws,
      overageQuantity: r.overageQuantity,
      unitPrice: r.unitPrice,
      amount: r.amount,
      billPeriod: r.billPeriod,
      planVersion: sub.planVersion,
      ratedAt: now,
    };
    changes.push({
      eventId: r.eventId,
      fromRev: event.ratingRev,
      status,
      rating,
      ...(before ? { before } : {}),
      grantDeltas: drawDeltas(before?.draws ?? [], r.draws),
      consumedDelta: r.allowanceUsed - (before?.allowanceUsed ?? 0n),
      billDeltas: billDeltas(before, rating),
    });
  }
  return { subscriptionId: sub.subscriptionId, register, currency: sub.currency, changes, ratings: result.ratings };
}

function emptyRating(e: UsageEvent, planVersion: number, now: string): StoredRating {
  return {
    allowanceUsed: 0n,
    draws: [],
    overageQuantity: 0n,
    unitPrice: 0n,
    amount: 0n,
    billPeriod: e.occurredAt.slice(0, 7),
    planVersion,
    ratedAt: now,
  };
}

function sameRating(a: StoredRating, b: EventRating): boolean {
  return (
    a.allowanceUsed === b.allowanceUsed &&
    a.overageQuantity === b.overageQuantity &&
    a.unitPrice === b.unitPrice &&
    a.amount === b.amount &&
    a.billPeriod === b.billPeriod &&
    a.draws.length === b.draws.length &&
    a.draws.every((d, i) => d.grantId === b.draws[i]!.grantId && d.quantity === b.draws[i]!.quantity)
  );
}

export function drawDeltas(before: GrantDraw[], after: GrantDraw[]): GrantDraw[] {
  const delta = new Map<string, bigint>();
  for (const d of before) delta.set(d.grantId, (delta.get(d.grantId) ?? 0n) - d.quantity);
  for (const d of after) delta.set(d.grantId, (delta.get(d.grantId) ?? 0n) + d.quantity);
  return [...delta].filter(([, q]) => q !== 0n).map(([grantId, quantity]) => ({ grantId, quantity }));
}

export function billDeltas(before: StoredRating | undefined, after: StoredRating): BillPeriodDelta[] {
  const out = new Map<string, BillPeriodDelta>();
  const add = (period: string, amount: bigint, count: number) => {
    const d = out.get(period) ?? { period, usageAmount: 0n, eventCount: 0 };
    d.usageAmount += amount;
    d.eventCount += count;
    out.set(period, d);
  };
  if (before) add(before.billPeriod, -before.amount, -1);
  add(after.billPeriod, after.amount, 1);
  return [...out.values()].filter((d) => d.usageAmount !== 0n || d.eventCount !== 0);
}
