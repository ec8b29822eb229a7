// Exact decimal arithmetic for quantities, prices and money: scaled bigints, never binary floats.
//
// - A quantity is a bigint of millionths of the product's unit (QUANTITY_SCALE = 6 decimals).
// - A unit price is a bigint of millionths of the currency's major unit (PRICE_SCALE = 6).
// - Money is a bigint of the currency's minor unit (cents for USD, yen for JPY, fils for KWD).
// An amount is quantity × price rounded half-even (banker's rounding) to the minor unit, once per
// event; every total is a sum of already-rounded amounts, so totals always equal their lines.

export const QUANTITY_SCALE = 6;
export const PRICE_SCALE = 6;

/** Digits before the point: keeps every amount and product of amounts well inside what we store. */
export const MAX_WHOLE_DIGITS = 15;
const MAX_WHOLE = 10 ** MAX_WHOLE_DIGITS;
const DECIMAL = /^(\d{1,15})(?:\.(\d+))?$/;
const pow10 = (n: number): bigint => 10n ** BigInt(n);

export type DecimalInput = string | number;

export type ParseResult = { ok: true; value: bigint } | { ok: false; message: string };

/**
 * Parses a non-negative decimal with at most `scale` decimals into a scaled bigint.
 * Numbers are accepted only when their shortest decimal form is plain (no exponent), so
 * `12.5` is fine and `1e21` or `0.1 + 0.2` are refused rather than silently rounded.
 */
export function parseDecimal(input: DecimalInput, scale: number): ParseResult {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, message: 'too large: not a finite number' };
    if (Math.abs(input) >= MAX_WHOLE)
      return {
        ok: false,
        message: `too large: ${String(input)}; at most ${MAX_WHOLE_DIGITS} digits before the decimal point`,
      };
    text = String(input);
    if (/e-/i.test(text)) return { ok: false, message: `has more than ${scale} decimals` };
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    return { ok: false, message: 'must be a decimal string or number' };
  }
  if (text.startsWith('-')) return { ok: false, message: 'must not be negative' };
  const m = DECIMAL.exec(text);
  const tooLong = /^(\d+)(\.\d+)?$/.exec(text);
  if (!m && tooLong && tooLong[1]!.length > MAX_WHOLE_DIGITS) {
    return {
      ok: false,
      message: `too large: ${tooLong[1]!.length} digits before the decimal point; at most ${MAX_WHOLE_DIGITS}`,
    };
  }
  if (!m)
    return {
      ok: false,
      message: `"${text.slice(0, 40)}" is not a plain decimal (digits, optional point and decimals)`,
    };
  const whole = m[1]!;
  const frac = m[2] ?? '';
  if (frac.length > scale) return { ok: false, message: `has more than ${scale} decimals` };
  return { ok: true, value: BigInt(whole) * pow10(scale) + BigInt(frac.padEnd(scale, '0') || '0') };
}

/** Like parseDecimal for values allowed to be negative (adjustments, deltas). */
export function parseSignedDecimal(input: DecimalInput, scale: number): ParseResult {
  const text = typeof input === 'number' ? String(input) : typeof input === 'string' ? input.trim() : '';
  if (text.startsWith('-')) {
    const r = parseDecimal(text.slice(1), scale);
    return r.ok ? { ok: true, value: -r.value } : r;
  }
  return parseDecimal(input, scale);
}

/** Formats a scaled bigint as a decimal string: trailing zeros dropped unless `minDecimals` asks. */
export function formatDecimal(value: bigint, scale: number, minDecimals = 0): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const base = pow10(scale);
  const whole = abs / base;
  let frac = scale > 0 ? (abs % base).toString().padStart(scale, '0') : '';
  let end = frac.length;
  while (end > minDecimals && frac[end - 1] === '0') end--;
  frac = frac.slice(0, end);
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Integer division rounding half to even. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  let q = n / denominator;
  const r2 = (n % denominator) * 2n;
  if (r2 > denominator || (r2 === denominator && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

// ---- currencies -------------------------------------------------------------------------

const currencyDigits = new Map<string, number>();
let knownCurrencies: Set<string> | undefined;

/** ISO 4217 codes known to the runtime's ICU data (Node ships full ICU). */
export function isCurrency(code: string): boolean {
  knownCurrencies ??= new Set(Intl.supportedValuesOf('currency'));
  return knownCurrencies.has(code);
}

/** The currency's minor-unit digits (USD 2, JPY 0, KWD 3), from CLDR via Intl. */
export function minorDigits(currency: string): number {
  let digits = currencyDigits.get(currency);
  if (digits === undefined) {
    if (!isCurrency(currency)) throw new RangeError(`unknown currency ${currency}`);
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    currencyDigits.set(currency, digits);
  }
  return digits;
}

/** Money in minor units as a decimal string with exactly the currency's digits: 100n USD → "1.00". */
export function formatMoney(minor: bigint, currency: string): string {
  const digits = minorDigits(currency);
  return formatDecimal(minor, digits, digits);
}

/** Parses a money string into minor units of the currency; more decimals than the currency has is refused. */
export function parseMoney(input: DecimalInput, currency: string, signed = false): ParseResult {
  return (signed ? parseSignedDecimal : parseDecimal)(input, minorDigits(currency));
}

/** Divisor that turns quantity × price (scale 12) into minor units of a currency. */
export function amountDivisor(currency: string): bigint {
  return pow10(QUANTITY_SCALE + PRICE_SCALE - minorDigits(currency));
}

/** quantity (scale 6) × unit price (scale 6) → minor units, rounded half-even. */
export function chargeFor(quantity: bigint, unitPrice: bigint, divisor: bigint): bigint {
  return divideHalfEven(quantity * unitPrice, divisor);
}

export const formatQuantity = (q: bigint): string => formatDecimal(q, QUANTITY_SCALE);
export const parseQuantity = (input: DecimalInput): ParseResult => parseDecimal(input, QUANTITY_SCALE);
export const formatPrice = (p: bigint): string => formatDecimal(p, PRICE_SCALE);
export const parsePrice = (input: DecimalInput): ParseResult => parseDecimal(input, PRICE_SCALE);
