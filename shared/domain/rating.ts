// Over 350 lines: one rating engine; its rules read the same running state and are tested as a
// whole.
// The rating engine: pure, deterministic, chronological rating of one partition
// (subscription, register). Rules and rounding are described in docs/rating.md.
//
// Timestamps are compared as strings, never parsed: every timestamp handed to the engine must
// be in the canonical form `Date.prototype.toISOString()` produces (`YYYY-MM-DDTHH:mm:ss.sssZ`),
// so lexicographic order is chronological order. `toRatingInstant` normalizes other ISO forms.

import { amountDivisor, chargeFor } from './decimal';

export interface Grant {
  grantId: string;
  /** Quantity, scale 6. */
  amount: bigint;
  /** Canonical ISO-8601 UTC, inclusive. */
  validFrom: string;
  /** Canonical ISO-8601 UTC, exclusive; absent = open-ended. */
  validTo?: string;
  /** When it was granted: among grants of equal window, the older is drawn first. */
  createdAt?: string;
}

export interface RatableEvent {
  eventId: string;
  /** A replacement listed through its original takes the original's place in rating order. */
  indexedVia?: string | undefined;
  productId: string;
  /** Quantity, scale 6, never negative. */
  quantity: bigint;
  /** Canonical ISO-8601 UTC. */
  occurredAt: string;
}

export interface GrantDraw {
  grantId: string;
  quantity: bigint;
}

export interface EventRating {
  eventId: string;
  productId: string;
  allowanceUsed: bigint;
  draws: GrantDraw[];
  overageQuantity: bigint;
  unitPrice: bigint;
  /** Minor units of the partition's currency. */
  amount: bigint;
  /** 'YYYY-MM' (calendar month, UTC). */
  billPeriod: string;
}

export interface PartitionInput {
  currency: string;
  unitPrices: Record<string, bigint>;
  grants: Grant[];
  /** Any order; the engine sorts. */
  events: RatableEvent[];
}

export interface PartitionRating {
  /** In rating order. */
  ratings: EventRating[];
  /** Per grant: amount minus every draw on it (expired leftovers included: undrawn, not "available now"). */
  grantsRemaining: Record<string, bigint>;
  allowanceUsed: bigint;
  /** Sum of the event amounts, minor units. */
  overageAmount: bigint;
  /** Sum of the event amounts per bill period; every period with a rated event appears, even at 0. */
  amountByPeriod: Record<string, bigint>;
}

export interface PeriodCharges {
  period: string;
  usageAmount: bigint;
  minimumTrueUp: bigint;
}

/**
 * Thrown when the caller hands the engine input it must have validated (a product without a
 * unit price, a negative quantity, a non-canonical timestamp, inconsistent prior ratings).
 * It is a programming error, not a user error: the caller fails the partition with it.
 */
export class RatingInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RatingInputError';
  }
}

/** The fields that define rating order. */
export type RatingOrderKey = Pick<RatableEvent, 'occurredAt' | 'eventId'> & { indexedVia?: string | undefined };

/**
 * The one definition of rating order: `occurredAt`, then the event's place, then `eventId`, by
 * UTF-16 code unit (not locale: the order must not depend on the machine's ICU data). An event's
 * place is its own id, or for a replacement listed through its original (`indexedVia`) the
 * original's: it takes the place of the event it replaces, right after it, where the index lists it.
 */
export function compareEvents(a: RatingOrderKey, b: RatingOrderKey): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt < b.occurredAt ? -1 : 1;
  if (a.eventId === b.eventId) return 0;
  const pa = a.indexedVia ?? a.eventId;
  const pb = b.indexedVia ?? b.eventId;
  if (pa !== pb) return pa < pb ? -1 : 1;
  // One place: the original first, then its replacements by id.
  if (a.eventId === pa) return -1;
  if (b.eventId === pb) return 1;
  return a.eventId < b.eventId ? -1 : 1;
}

/**
 * An event's point in its partition, as a batch's partition records its earliest: `<occurredAt>#<eventId>`, or
 * `<occurredAt>#<original>#<eventId>` for a replacement listed through its original. Ids hold no
 * `#`, which sorts below every character they may hold, so these strings sort in rating order.
 */
export const pointOf = (e: RatingOrderKey): string =>
  e.indexedVia ? `${e.occurredAt}#${e.indexedVia}#${e.eventId}` : `${e.occurredAt}#${e.eventId}`;

/** The event point `pointOf` wrote. */
export function parsePoint(point: string): RatingOrderKey {
  const [occurredAt = '', first = '', second] = point.split('#');
  return second === undefined ? { occurredAt, eventId: first } : { occurredAt, eventId: second, indexedVia: first };
}

/** True when `s` has the shape of `Date.prototype.toISOString()`: `YYYY-MM-DDTHH:mm:ss.sssZ`. */
function isRatingInstant(s: unknown): s is string {
  // Shape only (cheap enough for the hot loop); toRatingInstant is the full check.
  return (
    typeof s === 'string' &&
    s.length === 24 &&
    s.charCodeAt(4) === 45 && // -
    s.charCodeAt(7) === 45 && // -
    s.charCodeAt(10) === 84 && // T
    s.charCodeAt(13) === 58 && // :
    s.charCodeAt(16) === 58 && // :
    s.charCodeAt(19) === 46 && // .
    s.charCodeAt(23) === 90 // Z
  );
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Normalizes an ISO-8601 timestamp (with `Z` or an offset) to the canonical form the engine
 * compares. For callers at the boundary (ingest, grants), never for the hot loop.
 */
export function toRatingInstant(input: string): string {
  const ms = ISO_UTC.test(input) ? Date.parse(input) : Number.NaN;
  if (Number.isNaN(ms)) throw new RatingInputError(`"${input.slice(0, 40)}" is not an ISO-8601 timestamp with a zone`);
  const canonical = new Date(ms).toISOString();
  if (!isRatingInstant(canonical)) throw new RatingInputError(`"${input.slice(0, 40)}" is outside years 0000-9999`);
  return canonical;
}

/** The bill period of an instant: its calendar month in UTC, 'YYYY-MM'. */
export function billPeriodOf(occurredAt: string): string {
  if (!isRatingInstant(occurredAt)) throw notCanonical('occurredAt', occurredAt);
  return occurredAt.slice(0, 7);
}

/** Rates every event of a partition from scratch. */
export function ratePartition(input: PartitionInput): PartitionRating {
  return rateFrom(input, [], input.events);
}

/**
 * Re-rates a partition from a start point: `prior` are the ratings of the events strictly
 * before it (kept unchanged, same objects), `from` the events from it on (any order).
 * Returns the whole partition's rating, equal to `ratePartition` over all those events when
 * `prior` was rated with the same grants and prices; `ratings.slice(prior.length)` are the new
 * ones. `input.events` is not read.
 */
export function rateFrom(input: PartitionInput, prior: EventRating[], from: RatableEvent[]): PartitionRating {
  const divisor = amountDivisor(input.currency);
  checkUnitPrices(input.unitPrices);
  const grants = prepareGrants(input.grants);
  const byId = new Map<string, GrantState>();
  for (const g of grants) byId.set(g.grantId, g);

  const ratings: EventRating[] = new Array<EventRating>(prior.length + from.length);
  const amountByPeriod: Record<string, bigint> = {};
  let allowanceUsed = 0n;
  let overageAmount = 0n;

  for (let i = 0; i < prior.length; i++) {
    const r = prior[i]!;
    for (const d of r.draws) {
      const g = byId.get(d.grantId);
      if (g === undefined) {
        throw new RatingInputError(
          `prior rating of event ${r.eventId} draws on grant ${d.grantId}, which is not among the grants`,
        );
      }
      g.remaining -= d.quantity;
      if (g.remaining < 0n) {
        throw new RatingInputError(
          `prior ratings draw more than grant ${d.grantId} holds; re-rate from an earlier point`,
        );
      }
    }
    allowanceUsed += r.allowanceUsed;
    overageAmount += r.amount;
    amountByPeriod[r.billPeriod] = (amountByPeriod[r.billPeriod] ?? 0n) + r.amount;
    ratings[i] = r;
  }

  const events = inRatingOrder(from);
  // Only grants that can still give allowance, in draw priority. Events come in time order, so
  // a grant that has expired or run dry at one event is out for good and leaves this list.
  const live = grants.filter((g) => g.remaining > 0n);

  let period = '';
  let periodAmount = 0n;
  let lastProduct: string | undefined;
  let unitPrice = 0n;
  let prev: RatableEvent | undefined;

  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const t = e.occurredAt;
    if (!isRatingInstant(t)) throw notCanonical(`occurredAt of event ${e.eventId}`, t);
    if (prev !== undefined && prev.occurredAt === t && prev.eventId === e.eventId) {
      throw new RatingInputError(`event ${e.eventId} at ${t} is given twice`);
    }
    prev = e;

    if (e.productId !== lastProduct) {
      const price = input.unitPrices[e.productId];
      // typeof also refuses inherited members such as "constructor".
      if (typeof price !== 'bigint') {
        throw new RatingInputError(
          `no unit price for product "${e.productId}" (event ${e.eventId}); validate products before rating`,
        );
      }
      lastProduct = e.productId;
      unitPrice = price;
    }

    let need = e.quantity;
    if (typeof need !== 'bigint' || need < 0n) {
      throw new RatingInputError(`quantity of event ${e.eventId} must be a non-negative bigint`);
    }
    const draws: GrantDraw[] = [];
    let used = 0n;
    for (let j = 0; need > 0n && j < live.length; j++) {
      const g = live[j]!;
      if (g.validTo !== undefined && g.validTo <= t) {
        live.splice(j--, 1);
        continue;
      }
      if (g.validFrom > t) continue;
      const take = g.remaining < need ? g.remaining : need;
      g.remaining -= take;
      need -= take;
      used += take;
      draws.push({ grantId: g.grantId, quantity: take });
      if (g.remaining === 0n) live.splice(j--, 1);
    }

    // Rounded once per event, half-even; every total below is a sum of these.
    const amount = need === 0n ? 0n : chargeFor(need, unitPrice, divisor);

    if (period === '' || !t.startsWith(period)) {
      if (period !== '') amountByPeriod[period] = (amountByPeriod[period] ?? 0n) + periodAmount;
      period = t.slice(0, 7);
      periodAmount = 0n;
    }
    periodAmount += amount;
    allowanceUsed += used;
    overageAmount += amount;

    ratings[prior.length + i] = {
      eventId: e.eventId,
      productId: e.productId,
      allowanceUsed: used,
      draws,
      overageQuantity: need,
      unitPrice,
      amount,
      billPeriod: period,
    };
  }
  if (period !== '') amountByPeriod[period] = (amountByPeriod[period] ?? 0n) + periodAmount;

  return {
    ratings,
    // fromEntries defines own properties, so any grantId (even "__proto__") is a plain key.
    grantsRemaining: Object.fromEntries(grants.map((g) => [g.grantId, g.remaining])),
    allowanceUsed,
    overageAmount,
    amountByPeriod,
  };
}

/**
 * A subscription's charges per bill period: its usage (summed across all its partitions, see
 * `sumAmountsByPeriod`) and the true-up to the period minimum, max(0, minimum - usage).
 * Only periods present in `usageByPeriod` are charged: to bill a minimum for a period without
 * usage, pass that period with 0n. Sorted by period.
 */
export function periodCharges(
  periodMinimum: bigint | undefined,
  usageByPeriod: Record<string, bigint>,
): PeriodCharges[] {
  if (periodMinimum !== undefined && periodMinimum < 0n)
    throw new RatingInputError('period minimum must not be negative');
  return Object.keys(usageByPeriod)
    .sort()
    .map((period) => {
      const usageAmount = usageByPeriod[period]!;
      if (!BILL_PERIOD.test(period)) throw new RatingInputError(`"${period}" is not a bill period (YYYY-MM)`);
      if (usageAmount < 0n) throw new RatingInputError(`usage of period ${period} must not be negative`);
      const shortfall = periodMinimum === undefined ? 0n : periodMinimum - usageAmount;
      return { period, usageAmount, minimumTrueUp: shortfall > 0n ? shortfall : 0n };
    });
}

/** Adds up `amountByPeriod` of several partitions (a subscription's registers). */
export function sumAmountsByPeriod(parts: Iterable<Record<string, bigint>>): Record<string, bigint> {
  const total: Record<string, bigint> = {};
  for (const part of parts) {
    for (const [period, amount] of Object.entries(part)) total[period] = (total[period] ?? 0n) + amount;
  }
  return total;
}

// ---- internals ------------------------------------------------------------------------------

const BILL_PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

interface GrantState {
  grantId: string;
  validFrom: string;
  validTo: string | undefined;
  createdAt: string;
  remaining: bigint;
}

const notCanonical = (what: string, value: unknown) =>
  new RatingInputError(
    `${what} ${JSON.stringify(value)?.slice(0, 40)} is not a canonical UTC instant (YYYY-MM-DDTHH:mm:ss.sssZ); normalize with toRatingInstant`,
  );

function checkUnitPrices(unitPrices: Record<string, bigint>): void {
  for (const [productId, price] of Object.entries(unitPrices)) {
    if (typeof price !== 'bigint' || price < 0n) {
      throw new RatingInputError(`unit price of product "${productId}" must be a non-negative bigint`);
    }
  }
}

/** Grant states in draw priority: earliest expiry first (open-ended last), then validFrom, then the older grant, then grantId. */
function prepareGrants(grants: Grant[]): GrantState[] {
  const seen = new Set<string>();
  const states = grants.map((g): GrantState => {
    if (seen.has(g.grantId)) throw new RatingInputError(`grant ${g.grantId} is given twice`);
    seen.add(g.grantId);
    if (typeof g.amount !== 'bigint' || g.amount < 0n)
      throw new RatingInputError(`amount of grant ${g.grantId} must be a non-negative bigint`);
    if (!isRatingInstant(g.validFrom)) throw notCanonical(`validFrom of grant ${g.grantId}`, g.validFrom);
    if (g.validTo !== undefined && !isRatingInstant(g.validTo))
      throw notCanonical(`validTo of grant ${g.grantId}`, g.validTo);
    return {
      grantId: g.grantId,
      validFrom: g.validFrom,
      validTo: g.validTo,
      createdAt: g.createdAt ?? '',
      remaining: g.amount,
    };
  });
  return states.sort(compareGrants);
}

/** What decides the order grants are drawn in. */
export type DrawOrderKey = Pick<Grant, 'grantId' | 'validFrom' | 'createdAt'> & { validTo?: string | undefined };

/**
 * Draw priority: earliest expiry first (open-ended last), then validFrom, then the older grant,
 * then grantId. Exported so that whatever takes allowance away (a transfer, a debit adjustment)
 * takes it in the order rating would have used it.
 */
export function compareGrants(a: DrawOrderKey, b: DrawOrderKey): number {
  if (a.validTo !== b.validTo) {
    if (a.validTo === undefined) return 1;
    if (b.validTo === undefined) return -1;
    return a.validTo < b.validTo ? -1 : 1;
  }
  if (a.validFrom !== b.validFrom) return a.validFrom < b.validFrom ? -1 : 1;
  // A top-up is drawn after the allowance granted before it (first granted, first drawn).
  const [ac, bc] = [a.createdAt ?? '', b.createdAt ?? ''];
  if (ac !== bc) return ac < bc ? -1 : 1;
  if (a.grantId === b.grantId) return 0;
  return a.grantId < b.grantId ? -1 : 1;
}

/** A sorted copy (the input is never reordered); skips the sort when the input is already in order. */
function inRatingOrder(events: RatableEvent[]): RatableEvent[] {
  for (let i = 1; i < events.length; i++) {
    if (compareEvents(events[i - 1]!, events[i]!) > 0) return events.slice().sort(compareEvents);
  }
  return events;
}
