import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  effectiveDateRefusal,
  firstOpenInstant,
  ledgerCloseRefusal,
  nextPeriod,
  periodOf,
} from '../../shared/domain/effective-date';

const now = '2026-06-15T12:00:00.000Z';
const limits = {
  now,
  accountCreatedAt: '2026-01-10T08:00:00.000Z',
  subscriptionStart: '2026-02-01T00:00:00.000Z',
  closedThrough: '2026-03',
};

describe('effectiveDateRefusal', () => {
  it('allows an instant in an open period after the account and subscription began', () => {
    expect(effectiveDateRefusal('2026-04-01T00:00:00.000Z', limits)).toBeUndefined();
    expect(effectiveDateRefusal(now, limits)).toBeUndefined();
  });

  it('refuses a future date as FUTURE_DATED, tolerating five minutes of clock skew', () => {
    expect(effectiveDateRefusal('2026-06-15T12:04:59.000Z', limits)).toBeUndefined();
    expect(effectiveDateRefusal('2026-06-15T12:05:00.001Z', limits)?.code).toBe('FUTURE_DATED');
    expect(effectiveDateRefusal('2027-01-01T00:00:00.000Z', limits)?.code).toBe('FUTURE_DATED');
  });

  it('refuses an instant inside the closed ledger period, up to its last millisecond', () => {
    expect(effectiveDateRefusal('2026-03-31T23:59:59.999Z', limits)).toMatchObject({
      code: 'BACKDATE_OUT_OF_RANGE',
      message: expect.stringContaining('closed through 2026-03'),
    });
    expect(effectiveDateRefusal('2026-04-01T00:00:00.000Z', limits)).toBeUndefined();
  });

  it("refuses an instant before the account's creation or the subscription's start", () => {
    const open = { ...limits, closedThrough: undefined };
    expect(effectiveDateRefusal('2026-01-10T07:59:59.999Z', open)).toMatchObject({
      code: 'BACKDATE_OUT_OF_RANGE',
      message: expect.stringContaining("account's creation"),
    });
    expect(effectiveDateRefusal('2026-01-31T00:00:00.000Z', open)).toMatchObject({
      code: 'BACKDATE_OUT_OF_RANGE',
      message: expect.stringContaining("subscription's start"),
    });
  });

  it('checks only the limits it is given (a batch has no single subscription)', () => {
    expect(effectiveDateRefusal('2020-01-01T00:00:00.000Z', { now })).toBeUndefined();
  });

  it('is never satisfied by a date that a stricter limit would refuse (property)', () => {
    const instant = fc
      .date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true })
      .map((d) => d.toISOString());
    fc.assert(
      fc.property(
        instant,
        instant,
        fc.option(fc.constantFrom('2025-12', '2026-02', '2026-05'), { nil: undefined }),
        (at, created, closed) => {
          const r = effectiveDateRefusal(at, {
            now,
            accountCreatedAt: created,
            ...(closed ? { closedThrough: closed } : {}),
          });
          const allowed =
            at <= '2026-06-15T12:05:00.000Z' &&
            at >= created &&
            (closed === undefined || at >= firstOpenInstant(closed));
          return (r === undefined) === allowed;
        },
      ),
    );
  });
});

describe('periods', () => {
  it('rolls December over to January of the next year', () => {
    expect(nextPeriod('2026-12')).toBe('2027-01');
    expect(nextPeriod('2026-09')).toBe('2026-10');
    expect(firstOpenInstant('2026-12')).toBe('2027-01-01T00:00:00.000Z');
    expect(periodOf('2026-02-28T23:59:59.999Z')).toBe('2026-02');
  });
});

describe('ledgerCloseRefusal', () => {
  it('allows closing an ended period, forward or the same again', () => {
    expect(ledgerCloseRefusal('2026-05', undefined, now)).toBeUndefined();
    expect(ledgerCloseRefusal('2026-05', '2026-03', now)).toBeUndefined();
    expect(ledgerCloseRefusal('2026-03', '2026-03', now)).toBeUndefined();
  });

  it('refuses the current or a future period as FUTURE_DATED and a step back as INVALID_TRANSITION', () => {
    expect(ledgerCloseRefusal('2026-06', undefined, now)?.code).toBe('FUTURE_DATED');
    expect(ledgerCloseRefusal('2026-02', '2026-03', now)?.code).toBe('INVALID_TRANSITION');
  });
});
