// Every benchmark `npm run bench` knows, by name. Adding one is one line here: its module's
// default export is a Benchmark (see benchmark.ts). Modules load lazily, so running one
// benchmark never loads another's dependencies.
import type { Benchmark } from './benchmark';

export const benchmarks: Record<string, () => Promise<{ default: Benchmark }>> = {
  'rating-engine': () => import('./rating-engine'),
  'batch-e2e': () => import('./batch-e2e'),
  'csv-import': () => import('./csv-import'),
  reliability: () => import('./reliability'),
};
