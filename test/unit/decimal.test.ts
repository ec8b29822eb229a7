import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  amountDivisor,
  chargeFor,
  divideHalfEven,
  formatDecimal,
  formatMoney,
  isCurrency,
  minorDigits,
  parseDecimal,
  parseMoney,
  parseQuantity,
} from '../../shared/domain/decimal';

describe('decimal parsing', () => {
  it.each([
    ['12.5', 12_500_000n],
    [12.5, 12_500_000n],
    ['0', 0n],
    ['0.000001', 1n],
    [' 7 ', 7_000_000n],
  ])('reads %j exactly', (input, expected) => {
    expect(parseQuantity(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['1e3'],
    [1e21],
    ['-1'],
    ['1.0000001'],
    ['abc'],
    [''],
    ['1,5'],
    ['.5'],
    ['Infinity'],
    [Number.NaN],
    ['0x10'],
    [0.1 + 0.2],
  ])('refuses %j', (input) => {
    expect(parseQuantity(input as string).ok).toBe(false);
  });

  it('round-trips every scaled value through its string form', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), (v) => {
        const r = parseDecimal(formatDecimal(v, 6), 6);
        return r.ok && r.value === v;
      }),
    );
  });
});

describe('money', () => {
  it('knows minor units from ISO 4217 data', () => {
    expect(minorDigits('USD')).toBe(2);
    expect(minorDigits('JPY')).toBe(0);
    expect(minorDigits('KWD')).toBe(3);
    expect(isCurrency('XYZ')).toBe(false);
  });

  it('formats with exactly the currency digits', () => {
    expect(formatMoney(100n, 'USD')).toBe('1.00');
    expect(formatMoney(-5n, 'USD')).toBe('-0.05');
    expect(formatMoney(1234n, 'JPY')).toBe('1234');
  });

  it('refuses more decimals than the currency has', () => {
    expect(parseMoney('1.005', 'USD').ok).toBe(false);
    expect(parseMoney('-1.05', 'USD', true)).toEqual({ ok: true, value: -105n });
  });

  it('rounds half to even at the minor unit', () => {
    expect(divideHalfEven(5n, 2n)).toBe(2n);
    expect(divideHalfEven(7n, 2n)).toBe(4n);
    expect(divideHalfEven(-5n, 2n)).toBe(-2n);
    expect(divideHalfEven(6n, 4n)).toBe(2n);
    // 20 minutes at 0.05 = 1.00 USD; 0.1 minute at 0.05 = 0.005 → 0.00 (half-even); 0.3 → 0.015 → 0.02
    const usd = amountDivisor('USD');
    expect(chargeFor(20_000_000n, 50_000n, usd)).toBe(100n);
    expect(chargeFor(100_000n, 50_000n, usd)).toBe(0n);
    expect(chargeFor(300_000n, 50_000n, usd)).toBe(2n);
  });
});
