// Benchmark: the reliability harness at length. The seeded fault runs of the fault-injection tests
// (test/support/fault-scenarios.ts) over many seeds and bigger batches: per seed, a correction run
// (RATING, a top-up, REVERSE_REPLACE), a races run (three RATING batches racing for overlapping
// events, every call sent twice at once, then a batch for what none got), a cycles run (lock →
// revert twice, then lock and submit) and a cancel-race run (cancel sent with the lock, then
// cancelled whatever won, then the events rated by a new batch), each on a fresh table of
// a local stack whose Task timeouts are cut to half a second. Fault mixes rotate over the seeds:
// all faults at once, timed-out attempts, failed writes (before sending / answer lost), throttled
// reads. After each run checkTable (as `npm run check-invariants`) and the exactly-once checks.
// Reports runs, faults injected, attempts timed out, violations, batches FAILED by exhausted
// retries (each named with its error) and, apart, batches refused PREVIEW_STALE because a racing
// batch changed what their preview read (the designed outcome, not a failure); any violation fails
// the run.
//
// Sizes: BENCH_SEEDS (default 50; 0 skips them) seeds, BENCH_SUBSCRIPTIONS (4) subscriptions of
// BENCH_EVENTS_PER_SUBSCRIPTION (40) events per run; --smoke: 2 seeds, 2 subscriptions of 10.
//
// Then the model phase: BENCH_MODEL_HISTORIES (default 1000; 0 skips it) seeded histories, each
// compared item by item with the reference model (test/support/model/); any divergence fails the
// run as a violation does. --smoke: 4 histories.
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbLocal } from '../../infra/local/dynamodb-local';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { logger } from '../../shared/logger';
import { localCredentials } from '../../shared/store/clients';
import type { Violation } from '../../shared/store/invariants';
import {
  cancelRaceRun,
  correctionRun,
  cyclesRun,
  racesRun,
  stallFor,
  type RunOptions,
  type RunResult,
  type RunSize,
} from '../support/fault-scenarios';
import { faultCount, timeoutCount, type FaultRates } from '../support/faults';
import { describeDivergence } from '../support/model/reference';
import { runModelHistories, type HistoryRecord } from '../support/model/suite';
import { BenchmarkFailed, type Benchmark, type Measurement } from './benchmark';

/** Long enough for a unit of work on a busy machine, short enough to time out many attempts. */
const TASK_TIMEOUT_SECONDS = 0.5;

/** Rotated over the seeds; seed 1 meets every fault at once. */
export const MIXES: ReadonlyArray<{ name: string; rates: FaultRates }> = [
  { name: 'all', rates: { writes: 0.05, throttledReads: 0.01, timeouts: 0.03 } },
  { name: 'timeouts', rates: { timeouts: 0.05 } },
  { name: 'writes', rates: { writes: 0.08 } },
  { name: 'throttling', rates: { throttledReads: 0.03 } },
];

type Scenario = (stack: LocalStack, options: RunOptions) => Promise<RunResult>;
const SCENARIOS: Record<string, Scenario> = {
  correction: correctionRun,
  races: racesRun,
  cycles: cyclesRun,
  'cancel-race': cancelRaceRun,
};

/** --smoke, and the smoke test: proves the harness runs and finds nothing, in seconds (the first two scenarios). */
export const SMOKE = {
  seeds: 2,
  size: { subscriptions: 2, eventsPerSubscription: 10, originalsPerSubscription: 1 } satisfies RunSize,
  maxTimeouts: 2,
  scenarios: { correction: correctionRun, races: racesRun },
};

export interface ReliabilityOptions {
  seeds: number;
  size: RunSize;
  /** Use this DynamoDB Local (tests share theirs); otherwise one is started for the benchmark. */
  dynamoEndpoint?: string;
  /** At most this many timed-out attempts per run (each costs a timeout's wait). */
  maxTimeouts?: number;
  /** One line per run as it ends. */
  onRun?: (line: string) => void;
  /** The runs per seed, by name; the correction and races runs unless a test says otherwise. */
  scenarios?: Record<string, Scenario>;
}

interface RunRecord extends Omit<RunResult, 'violations'> {
  scenario: string;
  mix: string;
  seconds: number;
  violations: Violation[];
}

export async function runReliability(options: ReliabilityOptions): Promise<Measurement> {
  const started = performance.now();
  const own = options.dynamoEndpoint ? undefined : await startDynamoDbLocal();
  const dynamoEndpoint = options.dynamoEndpoint ?? own!.endpoint;
  // One unit of work per task invocation: the most cursors, the most places to fail between.
  const budget = process.env.WORKFLOW_CHUNK_BUDGET_MS;
  process.env.WORKFLOW_CHUNK_BUDGET_MS = '0';
  const runs: RunRecord[] = [];
  try {
    for (let seed = 1; seed <= options.seeds; seed++) {
      const mix = MIXES[(seed - 1) % MIXES.length]!;
      for (const [scenario, run] of Object.entries(options.scenarios ?? SCENARIOS)) {
        const t0 = performance.now();
        const result = await onFreshStack(dynamoEndpoint, (stack) =>
          run(stack, {
            seed,
            rates: mix.rates,
            stall: stallFor(TASK_TIMEOUT_SECONDS, { maxTimeouts: options.maxTimeouts ?? 4 }),
            size: options.size,
          }),
        );
        const record: RunRecord = {
          scenario,
          mix: mix.name,
          ...result,
          seconds: round((performance.now() - t0) / 1000),
        };
        runs.push(record);
        options.onRun?.(
          `  seed ${seed} ${scenario} (${mix.name}): ${faultCount(result.faults)} faults, ${result.timedOutAttempts} timed out, ${result.violations.length} violations, ${record.seconds} s${failedOutcomes(result)}`,
        );
      }
    }
  } finally {
    if (budget === undefined) delete process.env.WORKFLOW_CHUNK_BUDGET_MS;
    else process.env.WORKFLOW_CHUNK_BUDGET_MS = budget;
    await own?.stop();
  }

  const sum = (f: (r: RunRecord) => number) => runs.reduce((s, r) => s + f(r), 0);
  const totals = {
    runs: runs.length,
    events: sum((r) => r.events),
    faultsInjected: sum((r) => faultCount(r.faults)),
    writesFailedBeforeSending: sum((r) => r.faults.before),
    writesAppliedAnswerLost: sum((r) => r.faults.after),
    readsThrottled: sum((r) => r.faults.throttled),
    writesStalledPastTimeout: sum((r) => timeoutCount(r.faults)),
    attemptsTimedOut: sum((r) => r.timedOutAttempts),
    violations: sum((r) => r.violations.length),
    /** Batches that ended FAILED because a workflow's retries ran out (or a cancel's did: asked again). */
    batchesFailed: sum((r) => (r.outcomes ?? []).filter(retriesRanOut).length),
    /**
     * Batches refused at submit, as designed, because a racing batch changed what their preview
     * read (`FAILED` with `PREVIEW_STALE`; their events are rated by the next batch of the run).
     */
    batchesStale: sum((r) => (r.outcomes ?? []).filter((o) => o.startsWith(STALE)).length),
  };
  const measurement: Measurement = {
    count: runs.length,
    unit: 'runs',
    seconds: (performance.now() - started) / 1000,
    perCore: false,
    details: {
      seeds: options.seeds,
      size: options.size,
      taskTimeoutSeconds: TASK_TIMEOUT_SECONDS,
      mixes: MIXES,
      totals,
      runs,
    },
    note: `${totals.faultsInjected} faults injected, ${totals.attemptsTimedOut} attempts timed out, ${totals.violations} violations, ${totals.batchesFailed} batches FAILED by exhausted retries, ${totals.batchesStale} refused PREVIEW_STALE by a racer's change`,
  };
  if (totals.violations > 0) {
    const broken = runs
      .filter((r) => r.violations.length > 0)
      .map((r) => `seed ${r.seed} ${r.scenario} (${r.mix}): ${byRule(r.violations)}`);
    throw new BenchmarkFailed(`${totals.violations} violation(s): ${broken.join('; ')}`, measurement);
  }
  return measurement;
}

const STALE = 'FAILED PREVIEW_STALE';

/** A batch FAILED for any other reason than a stale preview, or a cancel that had to be asked again. */
function retriesRanOut(outcome: string): boolean {
  return (outcome.startsWith('FAILED') && !outcome.startsWith(STALE)) || outcome === 'CANCEL_ASKED_AGAIN';
}

/** The run's batches whose retries ran out, with why, for the per-run line. */
function failedOutcomes(result: RunResult): string {
  const outcomes = result.outcomes ?? [];
  const failed = outcomes.filter(retriesRanOut);
  const stale = outcomes.filter((o) => o.startsWith(STALE)).length;
  return `${stale > 0 ? `; ${stale} PREVIEW_STALE` : ''}${failed.length > 0 ? `; ${failed.length} FAILED: ${failed.join(' | ')}` : ''}`;
}

/** Each run on its own table and stack: checkTable reads that run alone, and nothing leaks into the next. */
async function onFreshStack<T>(
  dynamoEndpoint: string,
  work: (stack: LocalStack) => Promise<T>,
  /** null: the ASL's own task timeouts. */
  taskTimeoutSeconds: number | null = TASK_TIMEOUT_SECONDS,
): Promise<T> {
  const stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint,
    tableName: `reliability-${randomUUID().slice(0, 8)}`,
    retryIntervalMs: 5,
    ...(taskTimeoutSeconds !== null ? { taskTimeoutSeconds } : {}),
  });
  try {
    return await work(stack);
  } finally {
    await stack.stop();
    const dynamo = new DynamoDBClient({
      endpoint: dynamoEndpoint,
      region: stack.region,
      credentials: localCredentials,
    });
    await dynamo.send(new DeleteTableCommand({ TableName: stack.tableName })).finally(() => dynamo.destroy());
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/** `rated-once ×160, batch-completed`: one entry per rule, in order of first appearance. */
function byRule(violations: readonly Violation[]): string {
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.rule, (counts.get(v.rule) ?? 0) + 1);
  return [...counts].map(([rule, n]) => (n > 1 ? `${rule} ×${n}` : rule)).join(', ');
}

function positive(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} must be ${min === 0 ? 'a whole number' : 'a positive integer'}, not ${raw}`);
  return n;
}

// ---- the model phase -----------------------------------------------------------------------

/** Rotated over the groups of histories on the stack with the usual task timeout. */
export const MODEL_MIXES: ReadonlyArray<{ name: string; rates: FaultRates }> = [
  { name: 'none', rates: {} },
  { name: 'writes', rates: { writes: 0.06 } },
  { name: 'throttling', rates: { throttledReads: 0.03 } },
  { name: 'writes+throttling', rates: { writes: 0.05, throttledReads: 0.01 } },
];
/** Every fifth history plays with timed-out attempts, on a stack whose task timeout is this short. */
const MODEL_TASK_TIMEOUT_SECONDS = 1;

export interface ModelPhaseOptions {
  histories: number;
  dynamoEndpoint?: string;
  onGroup?: (line: string) => void;
}

export interface ModelPhaseResult {
  histories: number;
  batches: number;
  faultsInjected: number;
  divergences: number;
  seconds: number;
  /** The histories that diverged, with their resolved steps and every divergence. */
  diverged: HistoryRecord[];
}

/**
 * Seeded histories through the API, each compared with the reference model: four fifths a few
 * at a time on a stack with the usual task timeout (fault mixes rotating, none included), one
 * fifth two at a time with attempts timed out (failed writes too) on a stack whose task timeout
 * is cut to a second.
 */
export async function runModelPhase(options: ModelPhaseOptions): Promise<ModelPhaseResult> {
  const started = performance.now();
  const own = options.dynamoEndpoint ? undefined : await startDynamoDbLocal();
  const dynamoEndpoint = options.dynamoEndpoint ?? own!.endpoint;
  const withTimeouts = Math.floor(options.histories / 5);
  const plain = options.histories - withTimeouts;
  const records: HistoryRecord[] = [];
  let faultsInjected = 0;
  try {
    if (plain > 0) {
      const run = await onFreshStack(
        dynamoEndpoint,
        (stack) =>
          runModelHistories(stack, {
            histories: plain,
            firstSeed: 1,
            concurrency: 4,
            faults: (seed) => MODEL_MIXES[Math.floor((seed - 1) / 4) % MODEL_MIXES.length],
            ...(options.onGroup ? { onGroup: options.onGroup } : {}),
          }),
        null,
      );
      records.push(...run.histories);
      faultsInjected += run.faultsInjected;
    }
    if (withTimeouts > 0) {
      const run = await onFreshStack(
        dynamoEndpoint,
        (stack) =>
          runModelHistories(stack, {
            histories: withTimeouts,
            firstSeed: plain + 1,
            concurrency: 2,
            faults: () => ({ name: 'timeouts', rates: { writes: 0.03, timeouts: 0.05 } }),
            stall: stallFor(MODEL_TASK_TIMEOUT_SECONDS, { maxTimeouts: 2 }),
            ...(options.onGroup ? { onGroup: options.onGroup } : {}),
          }),
        MODEL_TASK_TIMEOUT_SECONDS,
      );
      records.push(...run.histories);
      faultsInjected += run.faultsInjected;
    }
  } finally {
    await own?.stop();
  }
  const diverged = records.filter((r) => r.divergences.length > 0);
  return {
    histories: records.length,
    batches: records.reduce((s, r) => s + r.batches, 0),
    faultsInjected,
    divergences: records.reduce((s, r) => s + r.divergences.length, 0),
    seconds: round((performance.now() - started) / 1000),
    diverged,
  };
}

const benchmark: Benchmark = {
  description:
    'seeded fault runs (failed writes, throttled reads, timed-out attempts, races) with every invariant checked after each, then seeded histories compared with the reference model',
  async run({ smoke }) {
    // Injected faults make handlers log; the figures would drown.
    logger.setLogLevel((process.env.LOG_LEVEL as Parameters<typeof logger.setLogLevel>[0] | undefined) ?? 'WARN');
    const full = {
      seeds: positive('BENCH_SEEDS', 50, 0),
      size: {
        subscriptions: positive('BENCH_SUBSCRIPTIONS', 4),
        eventsPerSubscription: positive('BENCH_EVENTS_PER_SUBSCRIPTION', 40),
        originalsPerSubscription: 3,
      },
    };
    const histories = smoke ? 4 : positive('BENCH_MODEL_HISTORIES', 1000, 0);
    const onRun = (line: string) => console.log(line);
    const scenarios = smoke || full.seeds > 0 ? await runReliability({ ...(smoke ? SMOKE : full), onRun }) : undefined;
    if (histories === 0) return scenarios!;
    const model = await runModelPhase({ histories, onGroup: onRun });
    const line = `model: ${model.histories} histories (${model.batches} batches, ${model.faultsInjected} faults injected) compared with the reference model in ${model.seconds} s, ${model.divergences} divergences`;
    const measurement: Measurement = scenarios
      ? {
          ...scenarios,
          details: { ...scenarios.details, model },
          note: `${scenarios.note}; ${model.divergences} model divergences`,
          lines: [...(scenarios.lines ?? []), line],
        }
      : {
          count: model.histories,
          unit: 'histories',
          seconds: model.seconds,
          perCore: false,
          details: { model },
          note: `${model.batches} batches, ${model.faultsInjected} faults injected, ${model.divergences} divergences`,
        };
    if (model.divergences > 0) {
      const first = model.diverged
        .slice(0, 5)
        .map((h) => `seed ${h.seed} (${h.mix}): ${h.divergences.slice(0, 3).map(describeDivergence).join('; ')}`);
      throw new BenchmarkFailed(`${model.divergences} model divergence(s): ${first.join(' | ')}`, measurement);
    }
    return measurement;
  },
};

export default benchmark;
