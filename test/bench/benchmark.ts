// The contract between the bench runner (run.ts) and one benchmark module.

export interface BenchmarkOptions {
  /** Tiny sizes: proves the benchmark runs and is correct, says nothing about speed. */
  smoke: boolean;
}

/** What one benchmark measured; the runner adds the name and the rate. */
export interface Measurement {
  /** Units of work done in `seconds` (e.g. events rated). */
  count: number;
  /** Plural noun for one unit of work: 'events'. */
  unit: string;
  seconds: number;
  /** True when the work ran on one thread, so the rate is a per-core figure. */
  perCore: boolean;
  /** Anything worth keeping in results.json (JSON-safe: no bigints). */
  details: Record<string, unknown>;
  /** Another figure for the printed line, e.g. `peak RSS 180 MB`. */
  note?: string;
  /** Further figures, each printed on a line of its own after the result's line. */
  lines?: string[];
}

export interface Benchmark {
  description: string;
  run(options: BenchmarkOptions): Promise<Measurement> | Measurement;
}

export interface BenchmarkResult extends Measurement {
  name: string;
  perSecond: number;
  /** Why the benchmark failed, when it did: its figures are kept, and the run exits 1. */
  failed?: string;
}

/** Thrown by a benchmark whose run broke a rule it checks; its figures still go to results.json. */
export class BenchmarkFailed extends Error {
  constructor(
    message: string,
    readonly measurement: Measurement,
  ) {
    super(message);
    this.name = 'BenchmarkFailed';
  }
}

export function toResult(name: string, m: Measurement): BenchmarkResult {
  return { name, ...m, perSecond: m.count / m.seconds };
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

/** One line per result: `rating-engine: 1,234,567 events/s per core (1,000,000 events, 0.81 s)`. */
export function formatResult(r: BenchmarkResult): string {
  // Slow units (whole runs) keep two decimals; a rate rounded to 0 would say nothing.
  const perSecond = r.perSecond < 10 ? r.perSecond.toFixed(2) : grouped(r.perSecond);
  const rate = `${perSecond} ${r.unit}/s${r.perCore ? ' per core' : ''}`;
  return `${r.name}: ${rate} (${grouped(r.count)} ${r.unit}, ${r.seconds.toFixed(2)} s${r.note ? `; ${r.note}` : ''})`;
}

/** The median of a non-empty list of samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
