// Shapes of the identifiers and instants every input shares, as zod schemas (pure, no AWS).
import { z } from 'zod';
import { isCurrency, parseMoney, parsePrice, parseQuantity, type DecimalInput } from './decimal';
// Every input schema is built on these values: the messages that name limits come with them.
import './validation-messages';

/** Ids are used inside keys, CSV files and URLs: a conservative alphabet, no separators or spaces. */
export const Id = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
    'must be 1-128 of A-Z a-z 0-9 . _ : - (starting with a letter or digit)',
  )
  .meta({
    id: 'Id',
    description: '1-128 of A-Z a-z 0-9 . _ : -, starting with a letter or digit.',
    example: 'sub-1001',
  });
export const RegisterName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,31}$/, 'must be 1-32 of A-Z 0-9 _ starting with a letter (e.g. MINUTES, DATA_MB)')
  .meta({
    id: 'RegisterName',
    description: 'A balance register: 1-32 of A-Z 0-9 _, starting with a letter.',
    example: 'MINUTES',
  });
export const Currency = z
  .string()
  .refine(isCurrency, 'must be an ISO 4217 currency code (e.g. USD)')
  .meta({ id: 'Currency', description: 'An ISO 4217 currency code.', example: 'USD' });
export const Period = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a bill period YYYY-MM')
  .meta({ id: 'Period', description: 'A bill period (a calendar month, UTC).', example: '2026-03' });

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Years outside this window are refused as typos rather than stored as history or future. */
export const EARLIEST_YEAR = 2000;
export const LATEST_YEAR = 2100;

function realDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * An ISO-8601 instant normalized to UTC with millisecond precision (`2026-01-05T10:00:00.000Z`):
 * normalized instants compare correctly as strings, which the rating engine relies on.
 */
function normalizeInstant(text: string): string | undefined {
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  if (y < EARLIEST_YEAR || y > LATEST_YEAR || !realDate(y, mo, d) || h > 23 || mi > 59 || Number(m[6] ?? 0) > 59) {
    return undefined;
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export const Instant = z
  .string()
  .transform((s, ctx) => {
    const n = normalizeInstant(s.trim());
    if (!n) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an ISO-8601 instant with a zone, years ${EARLIEST_YEAR}-${LATEST_YEAR} (e.g. 2026-01-05T10:00:00Z)`,
      });
      return z.NEVER;
    }
    return n;
  })
  .meta({
    id: 'Instant',
    description: `An ISO-8601 instant with a zone (Z or ±hh:mm), years ${EARLIEST_YEAR}-${LATEST_YEAR}; stored in UTC.`,
    example: '2026-03-01T10:00:00Z',
  });

export const CalendarDate = z
  .string()
  .refine((s) => {
    const m = DATE.exec(s);
    if (!m) return false;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return y >= EARLIEST_YEAR && y <= LATEST_YEAR && realDate(y, mo, d);
  }, 'must be a calendar date YYYY-MM-DD')
  .meta({ id: 'CalendarDate', description: 'A calendar date YYYY-MM-DD.', example: '2026-01-01' });

const decimalInput = z.union([z.string().max(40), z.number()]).meta({
  id: 'DecimalInput',
  description:
    'A non-negative decimal: a string ("12.5") or a plain JSON number (no exponent); at most 15 digits before the point.',
  example: '12.5',
});

function scaled(parse: (i: DecimalInput) => ReturnType<typeof parseQuantity>) {
  return decimalInput.transform((v, ctx) => {
    const r = parse(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.value;
  });
}

/** A non-negative quantity, up to 6 decimals, as a scaled bigint. */
export const Quantity = scaled(parseQuantity);
/** A non-negative unit price, up to 6 decimals, as a scaled bigint. */
export const UnitPrice = scaled(parsePrice);
/** Money is parsed against a currency, so schemas take the raw input and refine later. */
export const MoneyInput = decimalInput;
export { parseMoney };
