// The S3 keys the import handler understands (DESIGN §4, CSV drops) and where it reports on them.
import { createHash } from 'node:crypto';
import type { S3EventRecord } from 'aws-lambda';
import { z } from 'zod';
import type { ErrorCode } from './errors';

export type ImportTarget =
  | { kind: 'usage-events' }
  | { kind: 'batch-events'; batchId: string }
  | { kind: 'batch-replacements'; batchId: string };

export type ImportKind = ImportTarget['kind'];

export const resultsPrefix = 'results/';

/**
 * Work objects of imports in progress (errors CSV parts, state carried between invocations). No
 * import prefix: S3 never notifies the import of them. They expire (see infra/constructs/imports.ts).
 */
export const importPartsPrefix = 'import-parts/';

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

/** The folder under importPartsPrefix of one file version's work objects (a fixed length, whatever the key's). */
export const importPartsFolder = (file: Pick<ImportFile, 'bucket' | 'key' | 'version'>): string =>
  createHash('sha256').update(`${file.bucket}/${file.key}#${file.version}`).digest('hex').slice(0, 32);

/**
 * The event the import function sends itself (an asynchronous invocation) to go on with a file
 * in a fresh invocation, from the checkpoint in the file's marker.
 */
export const ImportContinuation = z.object({
  importContinuation: z.object({
    bucket: z.string().min(1),
    key: z.string().min(1),
    version: z.string().min(1),
    versionId: z.string().min(1).optional(),
    actor: z.string().min(1),
    /** The checkpoint it was sent from (for the logs: the marker holds the checkpoint itself). */
    seq: z.number().int().nonnegative(),
  }),
});
export type ImportContinuation = z.infer<typeof ImportContinuation>;

export function continuationOf(file: ImportFile, seq: number): ImportContinuation {
  const { bucket, key, version, versionId, actor } = file;
  return { importContinuation: { bucket, key, version, ...(versionId ? { versionId } : {}), actor, seq } };
}

/** The file a continuation names, or undefined when its key is not one an importer serves. */
export function importFileOfContinuation({ importContinuation: c }: ImportContinuation): ImportFile | undefined {
  const target = importTargetOf(c.key);
  return target
    ? {
        bucket: c.bucket,
        key: c.key,
        version: c.version,
        ...(c.versionId ? { versionId: c.versionId } : {}),
        target,
        actor: c.actor,
      }
    : undefined;
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

// ---- uploads through the API (POST /v1/imports): the dashboard's way into the same S3 drop ------------

/** How long an upload URL the API hands out may be used. */
export const UPLOAD_URL_SECONDS = 300;

/** Browsers PUT files to the bucket from the dashboard's origin (bucket CORS, in AWS and locally). */
export const uploadCors = { allowedMethods: ['PUT'], allowedHeaders: ['content-type'], maxAgeSeconds: 600 } as const;

/** A file name as a key segment: letters, digits, `.`, `_` and `-` (others become `-`), ending `.csv`. */
export function uploadFileName(name: string): string {
  const base = name
    .replace(/\.csv$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 100);
  return `${base || 'upload'}${importSuffix}`;
}

/** The key an upload lands on: under the target's prefix, a fresh id first so two uploads of one name never meet. */
export function uploadKeyOf(target: ImportTarget, uploadId: string, fileName: string): string {
  const folder =
    target.kind === 'usage-events'
      ? 'usage-events/'
      : `batches/${target.batchId}/${target.kind === 'batch-events' ? 'events' : 'replacements'}/`;
  return `${folder}${uploadId}-${uploadFileName(fileName)}`;
}

/** An import's id in the API is its key, base64url-encoded (a key holds slashes; a path parameter cannot). */
export const importIdOf = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

/** The key an import id names, when it names a key an importer serves. */
export function keyOfImportId(importId: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(importId)) return undefined;
  const key = Buffer.from(importId, 'base64url').toString('utf8');
  return importIdOf(key) === importId && importTargetOf(key) && !isIgnoredKey(key) && key.endsWith(importSuffix)
    ? key
    : undefined;
}
