// Benchmark: the pure rating engine, in memory, one thread.
// Workload: 1,000,000 events over partitions of 1 to ~2,000 events (mean ~1,000), each with 1-4
// grants (monthly allowances, open-ended top-ups, some not yet valid), 1-3 products, three
// months of usage, events handed over shuffled (the engine's contract is "any order").

import { performance } from 'node:perf_hooks';
import type { Grant, PartitionInput, RatableEvent } from '../../shared/domain/rating';
import { ratePartition } from '../../shared/domain/rating';
import { median, type Benchmark, type Measurement } from './benchmark';
import { seededRandom } from '../support/seeded-random';

export const RATING_SEED = 20240101;
export const FULL_EVENTS = 1_000_000;
export const SMOKE_EVENTS = 2_000;

export interface RatingWorkload {
  partitions: PartitionInput[];
  events: number;
  grants: number;
}

/** Per currency: what rating the workload must add up to (the benchmark's correctness check). */
export interface RatingTotals {
  ratings: number;
  draws: number;
  allowanceUsed: string;
  overageAmountByCurrency: Record<string, string>;
}

const START = Date.UTC(2024, 0, 1);
const MONTH_STARTS = [Date.UTC(2024, 0, 1), Date.UTC(2024, 1, 1), Date.UTC(2024, 2, 1), Date.UTC(2024, 3, 1)];
const SPAN_MS = MONTH_STARTS[3]! - START;
const UNIT = 1_000_000n; // quantity scale 6
const PRODUCTS = ['voice', 'sms', 'data'] as const;
// Unit prices (scale 6) plausible for each currency: a few cents, a few yen, a few fils.
const PRICE_RANGE: Record<string, [number, number]> = {
  USD: [1_000, 200_000],
  JPY: [100_000, 20_000_000],
  KWD: [100, 60_000],
};

const iso = (ms: number) => new Date(ms).toISOString();

/** The same workload for the same seed and size, on every machine. */
export function ratingWorkload(seed: number, totalEvents: number): RatingWorkload {
  const rnd = seededRandom(seed);
  const meanSize = Math.max(1, Math.min(1_000, Math.floor(totalEvents / 20)));
  const partitions: PartitionInput[] = [];
  let made = 0;
  let grantCount = 0;
  while (made < totalEvents) {
    const size = Math.min(totalEvents - made, rnd.int(1, 2 * meanSize - 1));
    const currency = rnd.chance(0.8) ? 'USD' : rnd.pick(['JPY', 'KWD']);
    const [lo, hi] = PRICE_RANGE[currency]!;
    const products = PRODUCTS.slice(0, rnd.int(1, PRODUCTS.length));
    const unitPrices: Record<string, bigint> = {};
    for (const p of products) unitPrices[p] = BigInt(rnd.int(lo, hi));

    const events: RatableEvent[] = [];
    let at = '';
    for (let i = 0; i < size; i++) {
      // ~1% share the previous event's instant, so the eventId tie-break is exercised.
      if (at === '' || !rnd.chance(0.01)) at = iso(START + rnd.int(0, SPAN_MS - 1));
      const quantity = rnd.chance(0.02) ? 0n : BigInt(rnd.int(1, 120_000_000));
      events.push({ eventId: uuid(rnd), productId: rnd.pick(products), quantity, occurredAt: at });
    }

    // Allowance sized against ~60 units per event so a realistic share of events run into overage.
    const perMonth = Math.max(1, Math.round((size / 3) * 60));
    const grants: Grant[] = [];
    const count = rnd.int(1, 4);
    for (let g = 0; g < count; g++) {
      const amount = BigInt(rnd.int(0, perMonth)) * UNIT;
      const kind = rnd.int(0, 2);
      const month = rnd.int(0, 2);
      if (kind === 0) {
        grants.push({
          grantId: `grant-${g}`,
          amount,
          validFrom: iso(MONTH_STARTS[month]!),
          validTo: iso(MONTH_STARTS[month + 1]!),
        });
      } else if (kind === 1) {
        grants.push({ grantId: `grant-${g}`, amount, validFrom: iso(START + rnd.int(0, SPAN_MS - 1)) });
      } else {
        // A top-up with a 30-day window from a random instant: valid for part of the events only.
        const from = START + rnd.int(0, SPAN_MS - 1);
        grants.push({ grantId: `grant-${g}`, amount, validFrom: iso(from), validTo: iso(from + 30 * 86_400_000) });
      }
    }
    grantCount += grants.length;
    partitions.push({ currency, unitPrices, grants, events: rnd.shuffle(events) });
    made += size;
  }
  return { partitions, events: made, grants: grantCount };
}

function uuid(rnd: ReturnType<typeof seededRandom>): string {
  const h = rnd.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

/** Rates every partition once; returns totals that a reference can check. */
export function rateWorkload(workload: RatingWorkload): RatingTotals {
  let ratings = 0;
  let draws = 0;
  let allowanceUsed = 0n;
  const overage: Record<string, bigint> = {};
  for (const p of workload.partitions) {
    const r = ratePartition(p);
    ratings += r.ratings.length;
    for (const line of r.ratings) draws += line.draws.length;
    allowanceUsed += r.allowanceUsed;
    overage[p.currency] = (overage[p.currency] ?? 0n) + r.overageAmount;
  }
  return {
    ratings,
    draws,
    allowanceUsed: allowanceUsed.toString(),
    overageAmountByCurrency: Object.fromEntries(Object.entries(overage).map(([c, a]) => [c, a.toString()])),
  };
}

const benchmark: Benchmark = {
  description: 'rate 1,000,000 events in memory across ~1,000 partitions with a few grants each',
  run({ smoke }): Measurement {
    const workload = ratingWorkload(RATING_SEED, smoke ? SMOKE_EVENTS : FULL_EVENTS);
    // One untimed pass lets the JIT settle; the median of the timed passes is reported.
    let totals = rateWorkload(workload);
    const samples: number[] = [];
    // CPU time next to wall time: on a busy machine wall time also counts time spent descheduled.
    const cpuSamples: number[] = [];
    for (let i = 0; i < (smoke ? 1 : 3); i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const pass = rateWorkload(workload);
      samples.push((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(cpu0);
      cpuSamples.push((cpu.user + cpu.system) / 1e6);
      if (JSON.stringify(pass) !== JSON.stringify(totals)) throw new Error('rating is not deterministic across passes');
      totals = pass;
    }
    return {
      count: workload.events,
      unit: 'events',
      seconds: median(samples),
      perCore: true,
      details: {
        seed: RATING_SEED,
        partitions: workload.partitions.length,
        grants: workload.grants,
        inputOrder: 'shuffled',
        samplesSeconds: samples,
        cpuSecondsSamples: cpuSamples,
        totals,
      },
    };
  },
};

export default benchmark;
