// A deliberately naive rater, written from the rules in docs/rating.md and sharing no code with
// shared/domain/rating.ts: it parses dates, re-sorts the grants for every event and rounds with
// its own arithmetic. Property tests check the engine against it.
import { minorDigits } from '../../shared/domain/decimal';
import type { EventRating, PartitionInput, PartitionRating } from '../../shared/domain/rating';

const ms = (iso: string) => Date.parse(iso);

function roundHalfEven(numerator: bigint, denominator: bigint): bigint {
  const floor = numerator / denominator;
  const twiceRest = 2n * (numerator - floor * denominator);
  if (twiceRest > denominator) return floor + 1n;
  if (twiceRest === denominator) return floor % 2n === 0n ? floor : floor + 1n;
  return floor;
}

export function referenceRate(input: PartitionInput): PartitionRating {
  const remaining = new Map(input.grants.map((g) => [g.grantId, g.amount]));
  const events = [...input.events].sort(
    (a, b) => ms(a.occurredAt) - ms(b.occurredAt) || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0),
  );
  const divisor = 10n ** BigInt(12 - minorDigits(input.currency));
  const ratings: EventRating[] = [];
  for (const e of events) {
    const t = ms(e.occurredAt);
    const usable = input.grants
      .filter((g) => ms(g.validFrom) <= t && (g.validTo === undefined || t < ms(g.validTo)))
      .sort(
        (a, b) =>
          (a.validTo === undefined ? Infinity : ms(a.validTo)) - (b.validTo === undefined ? Infinity : ms(b.validTo)) ||
          ms(a.validFrom) - ms(b.validFrom) ||
          (a.grantId < b.grantId ? -1 : 1),
      );
    let need = e.quantity;
    const draws = [];
    for (const g of usable) {
      const left = remaining.get(g.grantId)!;
      if (need === 0n || left === 0n) continue;
      const take = left < need ? left : need;
      remaining.set(g.grantId, left - take);
      need -= take;
      draws.push({ grantId: g.grantId, quantity: take });
    }
    const unitPrice = input.unitPrices[e.productId]!;
    ratings.push({
      eventId: e.eventId,
      productId: e.productId,
      allowanceUsed: e.quantity - need,
      draws,
      overageQuantity: need,
      unitPrice,
      amount: roundHalfEven(need * unitPrice, divisor),
      billPeriod: new Date(t).toISOString().slice(0, 7),
    });
  }
  const amountByPeriod: Record<string, bigint> = {};
  for (const r of ratings) amountByPeriod[r.billPeriod] = (amountByPeriod[r.billPeriod] ?? 0n) + r.amount;
  return {
    ratings,
    grantsRemaining: Object.fromEntries(remaining),
    allowanceUsed: ratings.reduce((s, r) => s + r.allowanceUsed, 0n),
    overageAmount: ratings.reduce((s, r) => s + r.amount, 0n),
    amountByPeriod,
  };
}
