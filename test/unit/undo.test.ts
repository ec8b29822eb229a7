import { describe, expect, it } from 'vitest';
import type { Grant } from '../../shared/domain/balance';
import { type EventChange, planPartition } from '../../shared/domain/partition-plan';
import type { Subscription } from '../../shared/domain/subscription';
import { restoredEventId, undoChanges } from '../../shared/domain/undo';
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
const grants: Grant[] = [
  {
    grantId: 'g',
    register: 'MINUTES',
    amount: 50n * M,
    drawn: 0n,
    validFrom: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
  },
];
const loaded = (eventId: string, quantity: bigint, day: number): UsageEvent => ({
  eventId,
  subscriptionId: 's',
  productId: 'voice',
  register: 'MINUTES',
  quantity: quantity * M,
  occurredAt: `2026-03-0${day}T10:00:00.000Z`,
  attributes: {},
  status: 'LOADED',
  ratingRev: 0,
  createdAt: '2026-03-10T00:00:00.000Z',
});

/** The events as a batch's chunks leave them (a new id is an inserted event). */
function apply(events: Map<string, UsageEvent>, changes: EventChange[], batchId: string, inserted: UsageEvent[] = []) {
  const out = new Map(events);
  for (const e of inserted) out.set(e.eventId, { ...e, insertedByBatch: batchId });
  for (const c of changes) {
    const e = out.get(c.eventId)!;
    const { rating: _gone, ...rest } = e;
    out.set(c.eventId, {
      ...rest,
      status: c.status,
      ratingRev: c.fromRev + 1,
      ...(c.status === 'LOADED' ? {} : { rating: c.rating }),
    });
  }
  return out;
}

/** Grant draws, consumption and bill amounts a list of changes moves. */
function totals(changes: EventChange[]) {
  const t = { consumed: 0n, drawn: 0n, bill: new Map<string, bigint>(), count: 0 };
  for (const c of changes) {
    t.consumed += c.consumedDelta;
    for (const d of c.grantDeltas) t.drawn += d.quantity;
    for (const b of c.billDeltas) {
      t.bill.set(b.period, (t.bill.get(b.period) ?? 0n) + b.usageAmount);
      t.count += b.eventCount;
    }
  }
  return t;
}

const state = (e: UsageEvent | undefined) => ({ status: e?.status, rating: e?.rating });

describe('undoChanges', () => {
  it('sends events a RATING rated back to LOADED, giving back every draw, consumption and charge', () => {
    const start = new Map([loaded('a', 30n, 1), loaded('b', 40n, 2)].map((e) => [e.eventId, e]));
    const rating = planPartition(
      { subscription: sub, register: 'MINUTES', grants, events: [...start.values()], toRate: new Set(['a', 'b']) },
      '2026-03-10T00:00:00.000Z',
    );
    const rated = apply(start, rating.changes, 'orig');
    const { changes, restored } = undoChanges(rating.changes, rated, 'orig', 'undo');
    expect(restored).toEqual([]);
    const sum = totals([...rating.changes, ...changes]);
    expect([sum.consumed, sum.drawn, sum.count, [...sum.bill.values()]]).toEqual([0n, 0n, 0, [0n]]);
    const back = apply(rated, changes, 'undo');
    for (const id of ['a', 'b']) expect(state(back.get(id))).toEqual(state(start.get(id)));
  });

  it('after a reverse-and-replace: reverses the replacement, restores the reversed event as a new one with its rating, and gives the re-rated one its rating back', () => {
    const start = new Map([loaded('a', 30n, 1), loaded('b', 40n, 2)].map((e) => [e.eventId, e]));
    const first = planPartition(
      { subscription: sub, register: 'MINUTES', grants, events: [...start.values()], toRate: new Set(['a', 'b']) },
      '2026-03-10T00:00:00.000Z',
    );
    const rated = apply(start, first.changes, 'rating');
    const g = [{ ...grants[0]!, drawn: 50n * M }];
    const fix = loaded('a-fix', 10n, 1);
    const rr = planPartition(
      {
        subscription: sub,
        register: 'MINUTES',
        grants: g,
        events: [...rated.values(), fix],
        toRate: new Set(['a-fix']),
        reverse: new Set(['a']),
      },
      '2026-03-11T00:00:00.000Z',
    );
    const replaced = apply(rated, rr.changes, 'rr', [fix]);
    const { changes, restored } = undoChanges(rr.changes, replaced, 'rr', 'undo');
    const copy = restoredEventId('undo', 'a');
    expect(restored).toEqual([{ eventId: copy, restores: replaced.get('a') }]);
    const sum = totals([...rr.changes, ...changes]);
    expect([sum.consumed, sum.drawn, sum.count, [...sum.bill.values()]]).toEqual([0n, 0n, 0, [0n]]);
    const back = apply(replaced, changes, 'undo', [{ ...loaded('a', 30n, 1), eventId: copy }]);
    expect(back.get('a-fix')!.status).toBe('REVERSED');
    expect(back.get('a')!.status).toBe('REVERSED');
    expect(state(back.get(copy))).toEqual(state(rated.get('a')));
    expect(state(back.get('b'))).toEqual(state(rated.get('b')));
  });
});
