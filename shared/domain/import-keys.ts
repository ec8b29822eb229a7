// The S3 keys the import handler understands (DESIGN §4, CSV drops) and where it reports on them.
import type { S3EventRecord } from 'aws-lambda';
import type { ErrorCode } from './errors';

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

/** One uploaded file, as its notification names it. */
export interface ImportFile {
  bucket: string;
  /** Decoded. */
  key: string;
  /** The object's version id (the bucket is versioned), else its ETag: a file is imported once per version. */
  version: string;
  versionId?: string;
  target: ImportTarget;
  /** Recorded in batch logs: the uploader when S3 names one, else the file itself. */
  actor: string;
}

/** The file a notification record names (`key` decoded, `target` from importTargetOf). */
export function importFileOf(record: S3EventRecord, key: string, target: ImportTarget): ImportFile {
  const bucket = record.s3.bucket.name;
  const { versionId, eTag, sequencer } = record.s3.object;
  return {
    bucket,
    key,
    version: versionId || eTag || sequencer,
    ...(versionId ? { versionId } : {}),
    target,
    actor: record.userIdentity?.principalId || `s3:${bucket}/${key}`,
  };
}

/** Every imported file gets `results/<same key>.json`. */
export const resultKeyOf = (key: string): string => `${resultsPrefix}${key}.json`;

/** A file with rejected rows also gets `results/<same key>.errors.csv`. */
export const errorsKeyOf = (key: string): string => `${resultsPrefix}${key}.errors.csv`;

/**
 * The body of `results/<key>.json`. Every data row is counted once:
 * `rows = accepted + duplicates + rejected`, unless `error` says where reading stopped.
 */
export interface ImportResult {
  status: 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED';
  rows: number;
  accepted: number;
  /** Rows whose effect was already there (the same event, an event already in the batch, the same replacements). */
  duplicates?: number;
  rejected: number;
  /** Key of the errors CSV, when rows were rejected. */
  errorsKey?: string;
  /** Why the file as a whole failed (header, unknown batch, batch not in DRAFT, unreadable file). */
  error?: { code: ErrorCode; message: string };
  /** Batch event files: children the listed parents brought into the batch, and those refused. */
  children?: { added: number; rejected: number };
}
