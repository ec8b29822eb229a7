// The benchmarks must keep running and stay correct; their speed is measured by `npm run bench`,
// never asserted here.
import { describe, expect, inject, it } from 'vitest';
import { compareEvents, type PartitionInput } from '../../shared/domain/rating';
import { formatResult, median, toResult } from '../bench/benchmark';
import { BAD_EVERY, runCsvImport, SMOKE_ROWS, SMOKE_ROWS_PER_INVOCATION } from '../bench/csv-import';
import { benchmarks } from '../bench/benchmarks';
import { RATING_SEED, ratingWorkload, SMOKE_EVENTS, type RatingTotals } from '../bench/rating-engine';
import { referenceRate } from '../support/rating-reference';

function referenceTotals(partitions: PartitionInput[]): RatingTotals {
  let ratings = 0;
  let draws = 0;
  let allowanceUsed = 0n;
  const overage: Record<string, bigint> = {};
  for (const p of partitions) {
    const r = referenceRate(p);
    ratings += r.ratings.length;
    draws += r.ratings.reduce((n, line) => n + line.draws.length, 0);
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

describe('rating-engine benchmark (smoke)', () => {
  it('runs from the registry and reports a per-core figure whose totals match the reference rater', async () => {
    const { default: benchmark } = await benchmarks['rating-engine']!();
    const m = await benchmark.run({ smoke: true });

    expect(m).toMatchObject({ count: SMOKE_EVENTS, unit: 'events', perCore: true });
    expect(m.seconds).toBeGreaterThan(0);
    expect(m.details).toMatchObject({ seed: RATING_SEED, inputOrder: 'shuffled' });
    const workload = ratingWorkload(RATING_SEED, SMOKE_EVENTS);
    expect(m.details.totals).toEqual(referenceTotals(workload.partitions));
    expect(formatResult(toResult('rating-engine', m))).toMatch(/^rating-engine: [\d,]+ events\/s per core \(2,000 events, \d+\.\d\d s\)$/);
  });

  it('generates the same workload from the same seed, with events out of rating order', () => {
    const serialize = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    const a = ratingWorkload(RATING_SEED, SMOKE_EVENTS);
    expect(serialize(ratingWorkload(RATING_SEED, SMOKE_EVENTS))).toBe(serialize(a));
    expect(a.events).toBe(SMOKE_EVENTS);
    expect(a.partitions.reduce((n, p) => n + p.events.length, 0)).toBe(SMOKE_EVENTS);
    const unsorted = a.partitions.filter((p) => p.events.some((e, i) => i > 0 && compareEvents(p.events[i - 1]!, e) > 0));
    expect(unsorted.length).toBeGreaterThan(0);
  });
});

describe('csv-import benchmark (smoke)', () => {
  it('is registered, and imports its file through the bundled function in processes of its own, across invocations, landing every good row once', async () => {
    expect(await benchmarks['csv-import']!()).toHaveProperty('default.run');
    const m = await runCsvImport({ rows: SMOKE_ROWS, rowsPerInvocation: SMOKE_ROWS_PER_INVOCATION, dynamoEndpoint: inject('dynamoEndpoint') });
    expect(m).toMatchObject({ count: SMOKE_ROWS, unit: 'rows', perCore: false });
    expect(m.details.result).toMatchObject({
      status: 'COMPLETED_WITH_ERRORS',
      rows: SMOKE_ROWS,
      accepted: SMOKE_ROWS - SMOKE_ROWS / BAD_EVERY,
      duplicates: 0,
      rejected: SMOKE_ROWS / BAD_EVERY,
    });
    expect(m.details.invocations).toBe(Math.ceil(SMOKE_ROWS / SMOKE_ROWS_PER_INVOCATION));
    // Each invocation's own process: more than an empty Node process, far less than the stack's.
    const perInvocation = m.details.perInvocation as Array<{ maxRssMb: number }>;
    for (const i of perInvocation) expect(i.maxRssMb).toBeGreaterThan(30);
    expect(m.details.peakRssMb).toBe(Math.max(...perInvocation.map((i) => i.maxRssMb)));
    expect(formatResult(toResult('csv-import', m))).toMatch(/^csv-import: [\d,]+ rows\/s \(1,000 rows, \d+\.\d\d s; import peak RSS \d+ MB, 3 invocations\)$/);
  }, 120_000);
});

describe('bench result lines', () => {
  it('prints one grouped figure per line with count and seconds', () => {
    const r = toResult('rating-engine', { count: 1_000_000, unit: 'events', seconds: 0.81, perCore: true, details: {} });
    expect(formatResult(r)).toBe('rating-engine: 1,234,568 events/s per core (1,000,000 events, 0.81 s)');
  });

  it('reports the median sample', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
