// CSV imports: a file version imported once, read in checkpointed stretches, through the importer
// of its kind of file.
export type { Tally } from '../../domain/csv-import-report';
export { batchEventsImporter, batchReplacementsImporter } from './batch-importers';
export { importOnce } from './import-once';
export { CHECKPOINT_EVERY_MS, type ImportBudget, type Importer, type ImportRun, type RowSink } from './importer';
export { usageEventsImporter } from './usage-events-importer';
