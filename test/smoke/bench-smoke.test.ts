// The benchmarks must keep running and stay correct; their speed is measured by `npm run bench`,
// never asserted here.
import { describe, expect, inject, it } from 'vitest';
import { compareEvents, type PartitionInput } from '../../shared/domain/rating';
import { BenchmarkFailed, formatResult, type Measurement, median, toResult } from '../bench/benchmark';
import { BAD_EVERY, runCsvImport, SMOKE_ROWS, SMOKE_ROWS_PER_INVOCATION } from '../bench/csv-import';
import { runBatchE2e } from '../bench/batch-e2e';
import { benchmarks } from '../bench/benchmarks';
import { RATING_SEED, ratingWorkload, SMOKE_EVENTS, type RatingTotals } from '../bench/rating-engine';
import { runReliability, SMOKE } from '../bench/reliability';
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
    expect(formatResult(toResult('rating-engine', m))).toMatch(
      /^rating-engine: [\d,]+ events\/s per core \(2,000 events, \d+\.\d\d s\)$/,
    );
  });

  it('generates the same workload from the same seed, with events out of rating order', () => {
    const serialize = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    const a = ratingWorkload(RATING_SEED, SMOKE_EVENTS);
    expect(serialize(ratingWorkload(RATING_SEED, SMOKE_EVENTS))).toBe(serialize(a));
    expect(a.events).toBe(SMOKE_EVENTS);
    expect(a.partitions.reduce((n, p) => n + p.events.length, 0)).toBe(SMOKE_EVENTS);
    const unsorted = a.partitions.filter((p) =>
      p.events.some((e, i) => i > 0 && compareEvents(p.events[i - 1]!, e) > 0),
    );
    expect(unsorted.length).toBeGreaterThan(0);
  });
});

describe('csv-import benchmark (smoke)', () => {
  it('is registered, and imports its file through the bundled function in processes of its own, across invocations, landing every good row once', async () => {
    expect(await benchmarks['csv-import']!()).toHaveProperty('default.run');
    const m = await runCsvImport({
      rows: SMOKE_ROWS,
      rowsPerInvocation: SMOKE_ROWS_PER_INVOCATION,
      dynamoEndpoint: inject('dynamoEndpoint'),
    });
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
    expect(formatResult(toResult('csv-import', m))).toMatch(
      /^csv-import: [\d,]+ rows\/s \(1,000 rows, \d+\.\d\d s; import peak RSS \d+ MB, 3 invocations\)$/,
    );
  }, 120_000);
});

describe('batch-e2e benchmark (smoke)', () => {
  // One run serves every test here: it is the slowest of the smoke runs (six batches with the skewed
  // pass), so its tests wait longer than the default on a loaded machine. No figure is a timed assertion.
  let run: Promise<Measurement> | undefined;
  const batchE2e = () => (run ??= runBatchE2e({ smoke: true, dynamoEndpoint: inject('dynamoEndpoint') }));

  it('runs RATING, RERATE and REVERSE_REPLACE batches to COMPLETED, metering units, transitions and cost for each', async () => {
    expect(await benchmarks['batch-e2e']!()).toHaveProperty('default.run');
    const m = await batchE2e();
    expect(m).toMatchObject({ count: 600, unit: 'corrected events', perCore: false });
    for (const type of ['rating', 'rerate', 'reverseReplace']) {
      const r = m.details[type] as any;
      expect(r).toMatchObject({ status: 'COMPLETED', events: 300, processed: 300 });
      // RATING and RERATE add by criteria, holding each partition whole: a claim, a selection and a
      // gate check per partition, well under a unit per event. REVERSE_REPLACE holds each original
      // by id: its hold and member are transactional writes, at least two units each per event.
      if (type === 'reverseReplace') expect(r.units.addWritePerEvent).toBeGreaterThanOrEqual(2);
      else {
        expect(r.units.addWritePerEvent).toBeGreaterThan(0);
        expect(r.units.addWritePerEvent).toBeLessThan(1);
        expect(r.units.writePerEventByKind.add['EVT/EVT'] ?? 0).toBe(0);
      }
      expect(r.units.lockAndSubmitWritePerEvent).toBeGreaterThan(0);
      expect(r.stateTransitions).toBeGreaterThan(0);
      expect(r.costPerMillionEvents.total).toBeGreaterThan(r.costPerMillionEvents.dynamodb);
    }
    // Reversing and replacing writes more than re-rating: the original, its replacement, then its rating.
    const rr = m.details.reverseReplace as any;
    expect(rr.units.lockAndSubmitWritePerEvent).toBeGreaterThan(
      (m.details.rerate as any).units.lockAndSubmitWritePerEvent,
    );
    expect(formatResult(toResult('batch-e2e', m))).toMatch(
      /^batch-e2e: [\d,]+ corrected events\/s \(600 corrected events, [\d.]+ s; rerate .*; reverseReplace .*\)$/,
    );
  }, 300_000);

  it('reports whole-batch figures, a skewed case beside the uniform one, and one line per acceptance figure', async () => {
    const m = await batchE2e();
    expect(m.details.sizes).toMatchObject({ skewed: { events: 300, subscriptions: 10, inLongestPartition: 150 } });
    for (const type of ['rating', 'rerate', 'reverseReplace']) {
      const r = m.details[type] as any;
      // The whole batch is its add, lock and submit, in time and in units.
      expect(r.wholeSeconds).toBeCloseTo(r.addSeconds + r.lockSeconds + r.submitSeconds, 1);
      expect(r.units.writePerEvent).toBeCloseTo(r.units.addWritePerEvent + r.units.lockAndSubmitWritePerEvent, 1);
      expect(r.wholeRatioOfWriteBound).toBeGreaterThan(0);
      expect(r.skewedOverUniform).toBeCloseTo(r.skewedWholeSeconds / r.wholeSeconds, 1);
    }
    const lines = m.lines ?? [];
    expect(lines).toHaveLength(14);
    for (const line of lines) expect(line).toMatch(/^.+: \S+ \(target [≤≥] \S+\) (met|not met|not measured)$/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^write units per event, whole batch, REVERSE_REPLACE: \d+\.\d\d \(target ≤ 6\.00\) (met|not met)$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^cost per million corrected events, RERATE: \$\d+\.\d\d \(target ≤ \$3\.00\) (met|not met)$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^skewed case: whole-batch time ÷ the uniform case's, RERATE: \d+\.\d\d \(target ≤ 2\.00\) (met|not met)$/,
      ),
    );
    // A smoke run has one size only: the scaling ratio is not taken.
    expect(lines.filter((l) => l.endsWith('not measured'))).toHaveLength(3);
    // The guarded write forms are timed beside the bound on the same stack (a full run prints them
    // as a line; a smoke run's tiny sizes only keep them in its details).
    const guarded = m.details.guardedWrites as any;
    expect(guarded.conditionalPutsPerSecond).toBeGreaterThan(0);
    expect(guarded.transactionItemsPerSecond).toBeGreaterThan(0);
    expect(guarded.shareOfBound.transactionUnits).toBeCloseTo(2 * guarded.shareOfBound.transactionItem, 2);
  }, 300_000);
});

describe('reliability benchmark (smoke)', () => {
  it('is registered, and runs each scenario per seed with faults injected, attempts timed out and no violation found', async () => {
    expect(await benchmarks.reliability!()).toHaveProperty('default.run');
    const m = await runReliability({ ...SMOKE, dynamoEndpoint: inject('dynamoEndpoint') });
    expect(m).toMatchObject({ count: 2 * SMOKE.seeds, unit: 'runs', perCore: false });
    const totals = m.details.totals as Record<string, number>;
    expect(totals).toMatchObject({ runs: 2 * SMOKE.seeds, violations: 0 });
    expect(totals.faultsInjected).toBeGreaterThan(0);
    expect(totals.attemptsTimedOut).toBeGreaterThan(0);
    expect(formatResult(toResult('reliability', m))).toMatch(
      /^reliability: \d+\.\d\d runs\/s \(4 runs, \d+\.\d\d s; \d+ faults injected, \d+ attempts timed out, 0 violations, \d+ batches FAILED by exhausted retries, \d+ refused PREVIEW_STALE by a racer's change\)$/,
    );
  }, 120_000);

  it('fails, with every violation named and its figures kept, when a run finds one', async () => {
    const violation = (rule: string) => ({ rule, detail: 'as found' });
    const broken = async (_stack: unknown, { seed }: { seed: number }) => ({
      seed,
      events: 0,
      faults: { before: 0, after: 0, throttled: 0, timeouts: {} },
      timedOutAttempts: 0,
      violations:
        seed === 2
          ? [violation('register-consumed-equals-ledger'), violation('rated-once'), violation('rated-once')]
          : [],
    });
    const failure = await runReliability({
      seeds: 2,
      size: SMOKE.size,
      dynamoEndpoint: inject('dynamoEndpoint'),
      scenarios: { broken },
    }).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(BenchmarkFailed);
    expect((failure as BenchmarkFailed).message).toBe(
      '3 violation(s): seed 2 broken (timeouts): register-consumed-equals-ledger, rated-once ×2',
    );
    expect((failure as BenchmarkFailed).measurement.details.totals).toMatchObject({ runs: 2, violations: 3 });
  });

  it('counts a batch refused PREVIEW_STALE by a racer apart from a batch whose retries ran out', async () => {
    const ended = async (_stack: unknown, { seed }: { seed: number }) => ({
      seed,
      events: 0,
      faults: { before: 0, after: 0, throttled: 0, timeouts: {} },
      timedOutAttempts: 0,
      violations: [],
      outcomes: [
        'COMPLETED',
        'FAILED PREVIEW_STALE: 2 partition(s) not applied',
        'FAILED INTERNAL: Transaction cancelled',
        'CANCELLED',
        'CANCEL_ASKED_AGAIN',
      ],
    });
    const lines: string[] = [];
    const m = await runReliability({
      seeds: 1,
      size: SMOKE.size,
      dynamoEndpoint: inject('dynamoEndpoint'),
      scenarios: { ended },
      onRun: (line) => lines.push(line),
    });

    expect(m.details.totals).toMatchObject({ runs: 1, violations: 0, batchesFailed: 2, batchesStale: 1 });
    expect(m.note).toContain('2 batches FAILED by exhausted retries, 1 refused PREVIEW_STALE');
    expect(lines[0]).toContain(
      '1 PREVIEW_STALE; 2 FAILED: FAILED INTERNAL: Transaction cancelled | CANCEL_ASKED_AGAIN',
    );
  });
});

describe('bench result lines', () => {
  it('prints one grouped figure per line with count and seconds', () => {
    const r = toResult('rating-engine', {
      count: 1_000_000,
      unit: 'events',
      seconds: 0.81,
      perCore: true,
      details: {},
    });
    expect(formatResult(r)).toBe('rating-engine: 1,234,568 events/s per core (1,000,000 events, 0.81 s)');
  });

  it('keeps two decimals for a rate below ten per second', () => {
    const r = toResult('reliability', {
      count: 4,
      unit: 'runs',
      seconds: 32,
      perCore: false,
      details: {},
      note: '0 violations',
    });
    expect(formatResult(r)).toBe('reliability: 0.13 runs/s (4 runs, 32.00 s; 0 violations)');
  });

  it('reports the median sample', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});
