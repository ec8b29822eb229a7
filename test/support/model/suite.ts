// Many seeded histories on one local stack, a few at a time (their subscriptions and events are
// their own, so they share a table without meeting), each group under one fault mix; after each
// group every attempt is waited for and each history compared with the model. Shared by the
// model-based test (a handful of seeds) and the reliability benchmark (a thousand and more).
import type { LocalStack } from '../../../infra/local/stack';
import { injectFaults, faultCount, type FaultRates, type StallOptions } from '../faults';
import { seededRandom } from '../seeded-random';
import { generateHistory, SMALL_HISTORY, type HistorySize } from './history';
import type { Divergence } from './reference';
import { compareWithModel, playHistory } from './runner';

export interface ModelRunOptions {
  /** Seeds firstSeed … firstSeed + histories − 1. */
  histories: number;
  firstSeed?: number;
  /** Histories played at once. */
  concurrency?: number;
  size?: HistorySize;
  /** The fault mix of a group (by its first seed); none: no fault. */
  faults?: (seed: number) => { name: string; rates: FaultRates } | undefined;
  stall?: StallOptions;
  /** Makes ids unique in a shared table. */
  prefix?: string;
  onGroup?: (line: string) => void;
}

export interface HistoryRecord {
  seed: number;
  mix: string;
  steps: number;
  batches: number;
  divergences: Divergence[];
  /** The resolved steps, kept for histories that diverged. */
  log?: string[];
}

export interface ModelRunResult {
  histories: HistoryRecord[];
  batches: number;
  faultsInjected: number;
  divergences: number;
}

export async function runModelHistories(stack: LocalStack, options: ModelRunOptions): Promise<ModelRunResult> {
  const first = options.firstSeed ?? 1;
  const concurrency = options.concurrency ?? 4;
  const prefix = options.prefix ?? `m${Date.now().toString(36)}`;
  const records: HistoryRecord[] = [];
  let faultsInjected = 0;
  for (let start = first; start < first + options.histories; start += concurrency) {
    const seeds = Array.from({ length: Math.min(concurrency, first + options.histories - start) }, (_, i) => start + i);
    const mix = options.faults?.(start);
    const faults = mix ? injectFaults(seededRandom(start), mix.rates, options.stall) : undefined;
    let played: Awaited<ReturnType<typeof playHistory>>[];
    try {
      played = await Promise.all(
        seeds.map((seed) => playHistory(generateHistory(seed, `${prefix}s${seed}`, options.size ?? SMALL_HISTORY))),
      );
    } finally {
      faults?.stop();
      // Attempts that timed out may still be writing: compare what they leave, not what they were doing.
      await stack.idle();
    }
    faultsInjected += faults ? faultCount(faults.log) : 0;
    for (const p of played) {
      const divergences = await compareWithModel(p);
      records.push({
        seed: p.history.seed,
        mix: mix?.name ?? 'none',
        steps: p.history.steps.length,
        batches: p.batches,
        divergences,
        ...(divergences.length > 0 ? { log: p.log } : {}),
      });
    }
    const group = records.slice(-seeds.length);
    options.onGroup?.(
      `  seeds ${seeds[0]}-${seeds.at(-1)} (${mix?.name ?? 'no faults'}): ${group.reduce((s, r) => s + r.batches, 0)} batches, ${faults ? faultCount(faults.log) : 0} faults, ${group.reduce((s, r) => s + r.divergences.length, 0)} divergences`,
    );
  }
  return {
    histories: records,
    batches: records.reduce((s, r) => s + r.batches, 0),
    faultsInjected,
    divergences: records.reduce((s, r) => s + r.divergences.length, 0),
  };
}
