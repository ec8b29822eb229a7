import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { amountDivisor, chargeFor, formatMoney, parsePrice, parseQuantity } from '../../shared/domain/decimal';
import {
  billPeriodOf,
  compareEvents,
  parsePoint,
  periodCharges,
  pointOf,
  rateFrom,
  ratePartition,
  RatingInputError,
  sumAmountsByPeriod,
  toRatingInstant,
  type EventRating,
  type Grant,
  type PartitionInput,
  type PartitionRating,
  type RatableEvent,
} from '../../shared/domain/rating';
import { referenceRate } from '../support/rating-reference';

// ---- builders ---------------------------------------------------------------------------------

const qty = (text: string): bigint => {
  const r = parseQuantity(text);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const price = (text: string): bigint => {
  const r = parsePrice(text);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};
const at = (day: string, time = '00:00:00.000') => `${day}T${time}Z`;

const anEvent = (e: Partial<Omit<RatableEvent, 'quantity'>> & { quantity?: string } = {}): RatableEvent => ({
  eventId: e.eventId ?? 'e1',
  productId: e.productId ?? 'voice',
  quantity: qty(e.quantity ?? '1'),
  occurredAt: e.occurredAt ?? at('2024-01-10'),
});
const aGrant = (g: Partial<Omit<Grant, 'amount'>> & { amount?: string } = {}): Grant => ({
  grantId: g.grantId ?? 'g1',
  amount: qty(g.amount ?? '100'),
  validFrom: g.validFrom ?? at('2024-01-01'),
  ...(g.validTo !== undefined ? { validTo: g.validTo } : {}),
});
const aPartition = (p: Partial<PartitionInput> = {}): PartitionInput => ({
  currency: p.currency ?? 'USD',
  unitPrices: p.unitPrices ?? { voice: price('0.05') },
  grants: p.grants ?? [],
  events: p.events ?? [],
});

/** Key-order-sensitive serialization: "identical output" means identical, not merely deep-equal. */
const exactly = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

const pick = <K extends keyof EventRating>(r: PartitionRating, key: K) => r.ratings.map((line) => line[key]);

// ---- the worked example of DESIGN.md §4 ------------------------------------------------------------

describe('rating, the worked example (DESIGN.md §4)', () => {
  const plan = { currency: 'USD', unitPrices: { voice: price('0.05') } };
  const grant100 = aGrant({ grantId: 'g-plan', amount: '100' });
  const e1 = anEvent({ eventId: 'e1', quantity: '30', occurredAt: at('2024-01-05') });
  const e2 = anEvent({ eventId: 'e2', quantity: '50', occurredAt: at('2024-01-10') });
  const e3 = anEvent({ eventId: 'e3', quantity: '40', occurredAt: at('2024-01-20') });

  it('draws 30, 50, 20 from a 100-minute grant and charges the last 20 minutes 1.00', () => {
    const r = ratePartition({ ...plan, grants: [grant100], events: [e1, e2, e3] });

    expect(pick(r, 'allowanceUsed')).toEqual([qty('30'), qty('50'), qty('20')]);
    expect(pick(r, 'overageQuantity')).toEqual([0n, 0n, qty('20')]);
    expect(pick(r, 'amount')).toEqual([0n, 0n, 100n]);
    expect(r.amountByPeriod).toEqual({ '2024-01': 100n });
    expect(formatMoney(r.amountByPeriod['2024-01']!, 'USD')).toBe('1.00');
    expect(r.grantsRemaining).toEqual({ 'g-plan': 0n });
  });

  it('after a top-up of 50, re-rating covers the third event from allowance and the bill is 0.00', () => {
    const topUp = aGrant({ grantId: 'g-topup', amount: '50' });
    const r = ratePartition({ ...plan, grants: [grant100, topUp], events: [e1, e2, e3] });

    expect(pick(r, 'allowanceUsed')).toEqual([qty('30'), qty('50'), qty('40')]);
    expect(r.ratings[2]!.draws).toEqual([
      { grantId: 'g-plan', quantity: qty('20') },
      { grantId: 'g-topup', quantity: qty('20') },
    ]);
    expect(pick(r, 'amount')).toEqual([0n, 0n, 0n]);
    expect(formatMoney(r.amountByPeriod['2024-01']!, 'USD')).toBe('0.00');
    expect(r.grantsRemaining).toEqual({ 'g-plan': 0n, 'g-topup': qty('30') });
  });

  it('after replacing the first event with a 10-minute one, the later events are re-rated', () => {
    const topUp = aGrant({ grantId: 'g-topup', amount: '50' });
    const replacement = anEvent({ eventId: 'e1-r', quantity: '10', occurredAt: e1.occurredAt });
    const r = ratePartition({ ...plan, grants: [grant100, topUp], events: [replacement, e2, e3] });

    expect(pick(r, 'eventId')).toEqual(['e1-r', 'e2', 'e3']);
    expect(pick(r, 'allowanceUsed')).toEqual([qty('10'), qty('50'), qty('40')]);
    expect(pick(r, 'overageQuantity')).toEqual([0n, 0n, 0n]);
    expect(pick(r, 'amount')).toEqual([0n, 0n, 0n]);
    expect(r.amountByPeriod).toEqual({ '2024-01': 0n });
    // The smaller first event leaves the plan grant enough for the third; the top-up is untouched.
    expect(r.grantsRemaining).toEqual({ 'g-plan': 0n, 'g-topup': qty('50') });
  });

  it('a replacement alone changes a later event: the third event goes from 1.00 to 0.00', () => {
    const before = ratePartition({ ...plan, grants: [grant100], events: [e1, e2, e3] });
    const replacement = anEvent({ eventId: 'e1-r', quantity: '10', occurredAt: e1.occurredAt });
    const after = ratePartition({ ...plan, grants: [grant100], events: [replacement, e2, e3] });

    expect(before.ratings[2]).toMatchObject({ allowanceUsed: qty('20'), amount: 100n });
    expect(after.ratings[2]).toMatchObject({ allowanceUsed: qty('40'), amount: 0n });
    expect(after.overageAmount).toBe(0n);
  });

  it('re-rates from the earliest affected event: a top-up valid from after e2 changes only e3', () => {
    const input = { ...plan, grants: [grant100], events: [e1, e2, e3] };
    const before = ratePartition(input);
    const topUp = aGrant({ grantId: 'g-topup', amount: '50', validFrom: at('2024-01-15') });
    const withTopUp = { ...input, grants: [grant100, topUp] };

    const r = rateFrom(withTopUp, before.ratings.slice(0, 2), [e3]);

    expect(r.ratings[0]).toBe(before.ratings[0]); // kept, not recomputed
    expect(r.ratings[2]).toMatchObject({ eventId: 'e3', allowanceUsed: qty('40'), amount: 0n });
    expect(r).toEqual(ratePartition(withTopUp));
  });
});

// ---- allowance: order, validity, priority --------------------------------------------------------

describe('rating, allowance', () => {
  it('draws from the grant that expires first, open-ended grants last', () => {
    const r = ratePartition(
      aPartition({
        grants: [
          aGrant({ grantId: 'open', amount: '10' }),
          aGrant({ grantId: 'feb', amount: '10', validTo: at('2024-02-01') }),
          aGrant({ grantId: 'mid-jan', amount: '10', validTo: at('2024-01-15') }),
        ],
        events: [anEvent({ quantity: '25' })],
      }),
    );
    expect(r.ratings[0]!.draws).toEqual([
      { grantId: 'mid-jan', quantity: qty('10') },
      { grantId: 'feb', quantity: qty('10') },
      { grantId: 'open', quantity: qty('5') },
    ]);
  });

  it('breaks an expiry tie by earlier validFrom, then by grantId', () => {
    const validTo = at('2024-02-01');
    const r = ratePartition(
      aPartition({
        grants: [
          aGrant({ grantId: 'b', amount: '1', validTo }),
          aGrant({ grantId: 'a', amount: '1', validTo }),
          aGrant({ grantId: 'z-older', amount: '1', validFrom: at('2023-12-01'), validTo }),
        ],
        events: [anEvent({ quantity: '3' })],
      }),
    );
    expect(r.ratings[0]!.draws.map((d) => d.grantId)).toEqual(['z-older', 'a', 'b']);
  });

  it('does not draw from a grant before its validFrom, and does from validFrom itself (inclusive)', () => {
    const grant = aGrant({ amount: '100', validFrom: at('2024-01-10', '12:00:00.000') });
    const r = ratePartition(
      aPartition({
        grants: [grant],
        events: [
          anEvent({ eventId: 'just-before', quantity: '1', occurredAt: at('2024-01-10', '11:59:59.999') }),
          anEvent({ eventId: 'at-start', quantity: '1', occurredAt: at('2024-01-10', '12:00:00.000') }),
        ],
      }),
    );
    expect(pick(r, 'allowanceUsed')).toEqual([0n, qty('1')]);
    expect(pick(r, 'amount')).toEqual([5n, 0n]);
  });

  it('draws from a grant until just before validTo, not at validTo (exclusive)', () => {
    const grant = aGrant({ amount: '100', validTo: at('2024-02-01') });
    const r = ratePartition(
      aPartition({
        grants: [grant],
        events: [
          anEvent({ eventId: 'last-ms', quantity: '1', occurredAt: at('2024-01-31', '23:59:59.999') }),
          anEvent({ eventId: 'at-end', quantity: '1', occurredAt: at('2024-02-01') }),
        ],
      }),
    );
    expect(pick(r, 'allowanceUsed')).toEqual([qty('1'), 0n]);
    expect(pick(r, 'overageQuantity')).toEqual([0n, qty('1')]);
  });

  it('keeps an expired grant’s leftover in grantsRemaining without drawing on it', () => {
    const r = ratePartition(
      aPartition({
        grants: [aGrant({ grantId: 'jan', amount: '100', validTo: at('2024-02-01') })],
        events: [
          anEvent({ quantity: '30', occurredAt: at('2024-01-10') }),
          anEvent({ eventId: 'e2', quantity: '30', occurredAt: at('2024-02-10') }),
        ],
      }),
    );
    expect(pick(r, 'allowanceUsed')).toEqual([qty('30'), 0n]);
    expect(r.grantsRemaining).toEqual({ jan: qty('70') });
  });

  it('never draws from a grant whose window is empty (validTo not after validFrom)', () => {
    const r = ratePartition(
      aPartition({
        grants: [aGrant({ validFrom: at('2024-01-10'), validTo: at('2024-01-10') })],
        events: [anEvent({ occurredAt: at('2024-01-10') })],
      }),
    );
    expect(r.allowanceUsed).toBe(0n);
  });

  it('splits one event across grants and overage', () => {
    const r = ratePartition(
      aPartition({
        grants: [
          aGrant({ grantId: 'a', amount: '2', validTo: at('2024-03-01') }),
          aGrant({ grantId: 'b', amount: '3' }),
        ],
        events: [anEvent({ quantity: '7.5' })],
      }),
    );
    expect(r.ratings[0]).toMatchObject({ allowanceUsed: qty('5'), overageQuantity: qty('2.5'), amount: 12n });
  });

  it('rates events in occurredAt order whatever the input order, ties by eventId', () => {
    const r = ratePartition(
      aPartition({
        grants: [aGrant({ amount: '1' })],
        events: [
          anEvent({ eventId: 'late', occurredAt: at('2024-01-20') }),
          anEvent({ eventId: 'b', occurredAt: at('2024-01-10') }),
          anEvent({ eventId: 'a', occurredAt: at('2024-01-10') }),
        ],
      }),
    );
    expect(pick(r, 'eventId')).toEqual(['a', 'b', 'late']);
    expect(pick(r, 'allowanceUsed')).toEqual([qty('1'), 0n, 0n]);
  });

  it('rates a zero-quantity event at zero without touching the allowance', () => {
    const r = ratePartition(aPartition({ grants: [aGrant({ amount: '5' })], events: [anEvent({ quantity: '0' })] }));
    expect(r.ratings[0]).toEqual({
      eventId: 'e1',
      productId: 'voice',
      allowanceUsed: 0n,
      draws: [],
      overageQuantity: 0n,
      unitPrice: price('0.05'),
      amount: 0n,
      billPeriod: '2024-01',
    });
    expect(r.grantsRemaining).toEqual({ g1: qty('5') });
    expect(r.amountByPeriod).toEqual({ '2024-01': 0n });
  });

  it('rates an empty partition to empty totals', () => {
    const r = ratePartition(aPartition({ grants: [aGrant()] }));
    expect(r).toEqual({
      ratings: [],
      grantsRemaining: { g1: qty('100') },
      allowanceUsed: 0n,
      overageAmount: 0n,
      amountByPeriod: {},
    });
  });

  it('assigns each event the calendar month (UTC) it occurred in', () => {
    const r = ratePartition(
      aPartition({
        events: [
          anEvent({ eventId: 'jan', occurredAt: at('2024-01-31', '23:59:59.999') }),
          anEvent({ eventId: 'feb', occurredAt: at('2024-02-01') }),
          anEvent({ eventId: 'feb2', occurredAt: at('2024-02-29', '23:00:00.000') }),
        ],
      }),
    );
    expect(pick(r, 'billPeriod')).toEqual(['2024-01', '2024-02', '2024-02']);
    expect(r.amountByPeriod).toEqual({ '2024-01': 5n, '2024-02': 10n });
  });

  it('does not reorder or modify its input', () => {
    const input = aPartition({
      grants: [aGrant({ grantId: 'b' }), aGrant({ grantId: 'a', validTo: at('2024-02-01') })],
      events: [
        anEvent({ eventId: 'x', occurredAt: at('2024-01-20'), quantity: '150' }),
        anEvent({ eventId: 'y', occurredAt: at('2024-01-02') }),
      ],
    });
    const before = exactly(input);
    ratePartition(input);
    expect(exactly(input)).toBe(before);
  });
});

// ---- money --------------------------------------------------------------------------------------------

describe('rating, money', () => {
  const overage = (currency: string, unitPrice: string, quantities: string[]) =>
    pick(
      ratePartition(
        aPartition({
          currency,
          unitPrices: { voice: price(unitPrice) },
          events: quantities.map((q, i) =>
            anEvent({ eventId: `e${i}`, quantity: q, occurredAt: at(`2024-01-${String(i + 1).padStart(2, '0')}`) }),
          ),
        }),
      ),
      'amount',
    );

  it('rounds each USD amount half-even to the cent', () => {
    // 0.005 → 0.00, 0.015 → 0.02, 0.025 → 0.02, 0.0251 → 0.03
    expect(overage('USD', '0.05', ['0.1', '0.3', '0.5', '0.502'])).toEqual([0n, 2n, 2n, 3n]);
  });

  it('rounds each JPY amount half-even to the yen (0 minor digits)', () => {
    // 0.5 → 0, 1.5 → 2, 2.5 → 2, 12345 × 0.5 = 6172.5 → 6172
    expect(overage('JPY', '0.5', ['1', '3', '5', '12345'])).toEqual([0n, 2n, 2n, 6172n]);
  });

  it('rounds each KWD amount half-even to the fils (3 minor digits)', () => {
    // 0.5 fils → 0, 1.5 fils → 2, 1000.5 fils → 1000, 2 × 1.234567 KWD = 2.469134 → 2469
    expect(overage('KWD', '0.0005', ['1', '3', '2001'])).toEqual([0n, 2n, 1000n]);
    expect(overage('KWD', '1.234567', ['2'])).toEqual([2469n]);
  });

  it('rounds once per event, so the period total is the sum of the rounded lines', () => {
    // Each line is 0.005 USD → 0.00; summing unrounded would give 0.01.
    const r = ratePartition(
      aPartition({ events: [anEvent({ eventId: 'a', quantity: '0.1' }), anEvent({ eventId: 'b', quantity: '0.1' })] }),
    );
    expect(r.amountByPeriod).toEqual({ '2024-01': 0n });
  });
});

// ---- refusals -----------------------------------------------------------------------------------------

describe('rating, input the caller must have validated', () => {
  it('refuses an event whose product has no unit price, naming both', () => {
    const input = aPartition({ events: [anEvent({ eventId: 'e9', productId: 'sms' })] });
    expect(() => ratePartition(input)).toThrow(RatingInputError);
    expect(() => ratePartition(input)).toThrow(/product "sms" \(event e9\)/);
  });

  it('refuses a missing unit price even for a zero-quantity event', () => {
    expect(() => ratePartition(aPartition({ events: [anEvent({ productId: 'sms', quantity: '0' })] }))).toThrow(
      /no unit price/,
    );
  });

  it('does not take inherited object members for unit prices', () => {
    expect(() => ratePartition(aPartition({ events: [anEvent({ productId: 'constructor' })] }))).toThrow(
      /no unit price/,
    );
  });

  it('refuses a negative quantity, a negative price and a negative grant', () => {
    expect(() => ratePartition(aPartition({ events: [{ ...anEvent(), quantity: -1n }] }))).toThrow(/non-negative/);
    expect(() => ratePartition(aPartition({ unitPrices: { voice: -1n } }))).toThrow(/non-negative/);
    expect(() => ratePartition(aPartition({ grants: [{ ...aGrant(), amount: -1n }] }))).toThrow(/non-negative/);
  });

  it('refuses timestamps not in the canonical form, whose string order would not be time order', () => {
    // "…00:00Z" sorts after "…00:00.500Z" though it is earlier: mixed forms must never meet.
    expect(() => ratePartition(aPartition({ events: [anEvent({ occurredAt: '2024-01-10T00:00:00Z' })] }))).toThrow(
      /canonical/,
    );
    expect(() => ratePartition(aPartition({ grants: [aGrant({ validFrom: '2024-01-01T00:00:00+00:00' })] }))).toThrow(
      /canonical/,
    );
    expect(() => ratePartition(aPartition({ grants: [aGrant({ validTo: '2024-02-01' })] }))).toThrow(/canonical/);
  });

  it('refuses the same event twice and the same grant twice', () => {
    expect(() => ratePartition(aPartition({ events: [anEvent(), anEvent()] }))).toThrow(/given twice/);
    expect(() => ratePartition(aPartition({ grants: [aGrant(), aGrant()] }))).toThrow(/given twice/);
  });

  it('refuses prior ratings that draw on an unknown grant or more than a grant holds', () => {
    const input = aPartition({ grants: [aGrant({ amount: '10' })] });
    const prior = ratePartition({ ...input, events: [anEvent({ quantity: '10' })] }).ratings;
    expect(() => rateFrom({ ...input, grants: [] }, prior, [])).toThrow(/not among the grants/);
    expect(() => rateFrom({ ...input, grants: [aGrant({ amount: '5' })] }, prior, [])).toThrow(/earlier point/);
  });

  it('refuses an unknown currency', () => {
    expect(() => ratePartition(aPartition({ currency: 'XYZ' }))).toThrow(/unknown currency/);
  });
});

// ---- time helpers -------------------------------------------------------------------------------------

describe('rating instants and bill periods', () => {
  it.each([
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01T01:30:00.5+01:30', '2024-01-01T00:00:00.500Z'],
    ['2024-02-29T23:59Z', '2024-02-29T23:59:00.000Z'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(toRatingInstant(input)).toBe(expected);
  });

  it.each([['2024-01-01'], ['2024-01-01T00:00:00'], ['yesterday'], ['2024-13-01T00:00:00Z']])(
    'refuses %s (no zone or not a date)',
    (input) => {
      expect(() => toRatingInstant(input)).toThrow(RatingInputError);
    },
  );

  it('takes the bill period from the UTC calendar month', () => {
    expect(billPeriodOf('2024-02-29T23:59:59.999Z')).toBe('2024-02');
    expect(() => billPeriodOf('2024-02-29')).toThrow(/canonical/);
  });

  it('orders events by occurredAt, then eventId', () => {
    const a = { occurredAt: at('2024-01-01'), eventId: 'b' };
    const b = { occurredAt: at('2024-01-02'), eventId: 'a' };
    expect(compareEvents(a, b)).toBeLessThan(0);
    expect(compareEvents({ ...a, eventId: 'a' }, a)).toBeLessThan(0);
    expect(compareEvents(a, { ...a })).toBe(0);
  });

  it("puts a replacement listed through its original at the original's place: right after it, before an event of the same instant with an id in between", () => {
    const t = at('2024-01-01');
    const original = { occurredAt: t, eventId: 'a' };
    const between = { occurredAt: t, eventId: 'b' };
    const replacement = { occurredAt: t, eventId: 'c', indexedVia: 'a' };
    const early = { occurredAt: t, eventId: '0', indexedVia: 'a' };
    expect([between, replacement, original, early].sort(compareEvents).map((e) => e.eventId)).toEqual([
      'a',
      '0',
      'c',
      'b',
    ]);
    // Without it, id order as before.
    expect(compareEvents({ occurredAt: t, eventId: 'c' }, between)).toBeGreaterThan(0);
  });

  it('writes event points that sort as rating order and read back as they were written', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,6}$/);
    const event = fc
      .record(
        {
          occurredAt: fc.constantFrom(at('2024-01-01'), at('2024-01-02')),
          eventId: id,
          indexedVia: id,
        },
        { requiredKeys: ['occurredAt', 'eventId'] },
      )
      .filter((e) => e.indexedVia !== e.eventId);
    fc.assert(
      fc.property(event, event, (a, b) => {
        // One event has one place.
        fc.pre(a.eventId !== b.eventId || a.indexedVia === b.indexedVia);
        expect(parsePoint(pointOf(a))).toEqual(a);
        const byPoint = pointOf(a) < pointOf(b) ? -1 : pointOf(a) > pointOf(b) ? 1 : 0;
        expect(byPoint).toBe(Math.sign(compareEvents(a, b)));
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- period minimum ---------------------------------------------------------------------------------------

describe('period charges', () => {
  it('charges the shortfall to the period minimum as a true-up, by period', () => {
    expect(periodCharges(1000n, { '2024-02': 1500n, '2024-01': 400n, '2024-03': 0n })).toEqual([
      { period: '2024-01', usageAmount: 400n, minimumTrueUp: 600n },
      { period: '2024-02', usageAmount: 1500n, minimumTrueUp: 0n },
      { period: '2024-03', usageAmount: 0n, minimumTrueUp: 1000n },
    ]);
  });

  it('charges no true-up without a minimum', () => {
    expect(periodCharges(undefined, { '2024-01': 5n })).toEqual([
      { period: '2024-01', usageAmount: 5n, minimumTrueUp: 0n },
    ]);
  });

  it('adds up a subscription’s partitions per period', () => {
    expect(sumAmountsByPeriod([{ '2024-01': 5n }, { '2024-01': 7n, '2024-02': 1n }, {}])).toEqual({
      '2024-01': 12n,
      '2024-02': 1n,
    });
  });

  it('refuses negative usage, a negative minimum and a malformed period', () => {
    expect(() => periodCharges(1n, { '2024-01': -1n })).toThrow(RatingInputError);
    expect(() => periodCharges(-1n, {})).toThrow(RatingInputError);
    expect(() => periodCharges(1n, { '2024-1': 1n })).toThrow(/bill period/);
  });

  it('never charges a negative true-up, and usage plus true-up always reaches the minimum', () => {
    const period = fc.constantFrom('2023-12', '2024-01', '2024-02', '2024-10');
    fc.assert(
      fc.property(
        fc.option(fc.bigInt({ min: 0n, max: 10n ** 9n }), { nil: undefined }),
        fc.dictionary(period, fc.bigInt({ min: 0n, max: 10n ** 9n })),
        (minimum, usage) => {
          const charges = periodCharges(minimum, usage);
          expect(charges.map((c) => c.period)).toEqual(Object.keys(usage).sort());
          for (const c of charges) {
            expect(c.minimumTrueUp).toBeGreaterThanOrEqual(0n);
            expect(c.usageAmount).toBe(usage[c.period]);
            if (minimum !== undefined)
              expect(c.usageAmount + c.minimumTrueUp).toBe(c.usageAmount > minimum ? c.usageAmount : minimum);
          }
        },
      ),
    );
  });
});

// ---- properties ---------------------------------------------------------------------------------------

// A coarse grid of instants around a month end: ties, boundary hits and two bill periods are common.
const GRID_START = Date.UTC(2024, 0, 30);
const instant = fc.integer({ min: 0, max: 40 }).map((k) => new Date(GRID_START + k * 3 * 3_600_000).toISOString());
const quantity = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 1n, max: 999n }), // fractions of a micro-unit price: rounding at work
  fc.bigInt({ min: 1n, max: qty('100') }),
);
const unitPrice = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 1n, max: price('3') }),
  fc.constantFrom(price('0.05'), price('0.5'), 500n),
);
const grant = fc.record({
  grantId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
  amount: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: qty('150') })),
  validFrom: instant,
  validTo: fc.option(instant, { nil: undefined }),
});
const event = fc.record({
  eventId: fc.string({ minLength: 1, maxLength: 3 }),
  productId: fc.constantFrom('voice', 'sms'),
  quantity,
  occurredAt: instant,
});
const partition: fc.Arbitrary<PartitionInput> = fc.record({
  currency: fc.constantFrom('USD', 'JPY', 'KWD', 'EUR'),
  unitPrices: fc.record({ voice: unitPrice, sms: unitPrice }),
  grants: fc.uniqueArray(grant, { selector: (g) => g.grantId, maxLength: 5 }),
  events: fc.uniqueArray(event, { selector: (e) => e.eventId, maxLength: 40 }),
});

const inWindow = (g: Grant, t: string) => g.validFrom <= t && (g.validTo === undefined || t < g.validTo);
const sortedEvents = (input: PartitionInput) => [...input.events].sort(compareEvents);

describe('rating properties', () => {
  it('agrees with a naive reference rater on every line and total', () => {
    fc.assert(
      fc.property(partition, (input) => {
        expect(ratePartition(input)).toEqual(referenceRate(input));
      }),
      { numRuns: 500 },
    );
  });

  it('never draws more from a grant than it holds, nor from a grant outside its window', () => {
    fc.assert(
      fc.property(partition, (input) => {
        const r = ratePartition(input);
        const events = new Map(input.events.map((e) => [e.eventId, e]));
        const grants = new Map(input.grants.map((g) => [g.grantId, g]));
        const drawn = new Map<string, bigint>();
        for (const line of r.ratings) {
          for (const d of line.draws) {
            expect(d.quantity).toBeGreaterThan(0n);
            expect(inWindow(grants.get(d.grantId)!, events.get(line.eventId)!.occurredAt)).toBe(true);
            drawn.set(d.grantId, (drawn.get(d.grantId) ?? 0n) + d.quantity);
          }
        }
        for (const g of input.grants) {
          expect(drawn.get(g.grantId) ?? 0n).toBeLessThanOrEqual(g.amount);
          expect(r.grantsRemaining[g.grantId]).toBe(g.amount - (drawn.get(g.grantId) ?? 0n));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('charges overage only when no grant valid at the event’s time has allowance left', () => {
    fc.assert(
      fc.property(partition, (input) => {
        const r = ratePartition(input);
        const events = sortedEvents(input);
        const left = new Map(input.grants.map((g) => [g.grantId, g.amount]));
        r.ratings.forEach((line, i) => {
          for (const d of line.draws) left.set(d.grantId, left.get(d.grantId)! - d.quantity);
          if (line.overageQuantity > 0n) {
            const t = events[i]!.occurredAt;
            for (const g of input.grants) if (inWindow(g, t)) expect(left.get(g.grantId)).toBe(0n);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('splits every event exactly into allowance and overage, and charges only the overage, never negative', () => {
    fc.assert(
      fc.property(partition, (input) => {
        const r = ratePartition(input);
        const divisor = amountDivisor(input.currency);
        const events = sortedEvents(input);
        r.ratings.forEach((line, i) => {
          const e = events[i]!;
          expect(line.eventId).toBe(e.eventId);
          expect(line.allowanceUsed + line.overageQuantity).toBe(e.quantity);
          expect(line.draws.reduce((s, d) => s + d.quantity, 0n)).toBe(line.allowanceUsed);
          expect(line.amount).toBe(chargeFor(line.overageQuantity, line.unitPrice, divisor));
          expect(line.amount).toBeGreaterThanOrEqual(0n);
          expect(line.unitPrice).toBe(input.unitPrices[e.productId]);
        });
      }),
    );
  });

  it('makes every total the sum of its lines', () => {
    fc.assert(
      fc.property(partition, (input) => {
        const r = ratePartition(input);
        const byPeriod: Record<string, bigint> = {};
        for (const line of r.ratings) byPeriod[line.billPeriod] = (byPeriod[line.billPeriod] ?? 0n) + line.amount;
        expect(r.amountByPeriod).toEqual(byPeriod);
        expect(r.overageAmount).toBe(r.ratings.reduce((s, line) => s + line.amount, 0n));
        expect(r.allowanceUsed).toBe(r.ratings.reduce((s, line) => s + line.allowanceUsed, 0n));
      }),
    );
  });

  it('re-rating from any point with the earlier ratings kept equals rating from scratch', () => {
    fc.assert(
      fc.property(partition, fc.nat(), (input, k) => {
        const full = ratePartition(input);
        const events = sortedEvents(input);
        const cut = k % (events.length + 1);
        // The events from the start point may come in any order.
        const again = rateFrom(input, full.ratings.slice(0, cut), events.slice(cut).reverse());
        expect(exactly(again)).toBe(exactly(full));
      }),
      { numRuns: 300 },
    );
  });

  it('gives identical output whatever the order of events and grants', () => {
    const shuffled = partition.chain((input) =>
      fc.tuple(
        fc.constant(input),
        fc.shuffledSubarray(input.events, { minLength: input.events.length }),
        fc.shuffledSubarray(input.grants, { minLength: input.grants.length }),
      ),
    );
    fc.assert(
      fc.property(shuffled, ([input, events, grants]) => {
        expect(exactly(ratePartition({ ...input, events, grants }))).toBe(exactly(ratePartition(input)));
      }),
      { numRuns: 300 },
    );
  });
});
