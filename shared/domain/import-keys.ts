// The S3 keys the import handler understands (DESIGN §4, CSV drops) and where it reports on them.

export type ImportTarget =
  | { kind: 'usage-events' }
  | { kind: 'batch-events'; batchId: string }
  | { kind: 'batch-replacements'; batchId: string };

export type ImportKind = ImportTarget['kind'];

export const resultsPrefix = 'results/';

/** S3 notifies the import handler only under these prefixes (CDK filters and the local stack both read them). */
export const importPrefixes = ['usage-events/', 'batches/'] as const;
/** Only CSV files are imported (S3 notifications filter on it, in AWS and locally). */
export const importSuffix = '.csv';

/** S3 notification keys are form-encoded (`my file.csv` arrives as `my+file.csv`). */
export const decodeS3Key = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

/**
 * Keys the handler leaves alone: its own results (importing them would loop) and folder
 * markers (zero-byte `…/` objects the S3 console creates), which are not files.
 */
export const isIgnoredKey = (key: string): boolean => key.startsWith(resultsPrefix) || key.endsWith('/');

const USAGE_EVENTS = /^usage-events\/.+$/;
const BATCH_FILE = /^batches\/([^/]+)\/(events|replacements)\/.+$/;

/** What a decoded key asks for, or undefined when no import serves it. */
export function importTargetOf(key: string): ImportTarget | undefined {
  if (USAGE_EVENTS.test(key)) return { kind: 'usage-events' };
  const batch = BATCH_FILE.exec(key);
  if (!batch) return undefined;
  const batchId = batch[1]!;
  return batch[2] === 'events' ? { kind: 'batch-events', batchId } : { kind: 'batch-replacements', batchId };
}

/** Every imported file gets `results/<same key>.json`. */
export const resultKeyOf = (key: string): string => `${resultsPrefix}${key}.json`;
