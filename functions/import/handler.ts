// S3 import handler: each file goes to the importer of its prefix, once per file version, and gets
// results/<key>.json (and .errors.csv). A file nobody can import is reported there, never dropped
// (DESIGN §2, no silent loss). A file too long for one invocation is continued by an invocation
// this function sends itself. A crash throws, so that Lambda retries (then the dead-letter queue).
import type { Context, S3Event } from 'aws-lambda';
import {
  continuationOf,
  decodeS3Key,
  ImportContinuation,
  importFileOf,
  importFileOfContinuation,
  importTargetOf,
  isIgnoredKey,
  resultKeyOf,
  type ImportKind,
  type ImportResult,
} from '../../shared/domain/import-keys';
import { config } from '../../shared/config';
import { logger } from '../../shared/logger';
import {
  batchEventsImporter,
  batchReplacementsImporter,
  importOnce,
  usageEventsImporter,
  type ImportBudget,
  type Importer,
} from '../../shared/services/csv-imports';
import { writeImportResult } from '../../shared/store/import-files';
import { sendImportContinuation } from '../../shared/store/import-continuations';

const importers: Record<ImportKind, Importer> = {
  'usage-events': usageEventsImporter,
  'batch-events': batchEventsImporter,
  'batch-replacements': batchReplacementsImporter,
};

const noImporter: ImportResult = {
  status: 'FAILED',
  rows: 0,
  accepted: 0,
  rejected: 0,
  error: {
    code: 'VALIDATION_FAILED',
    message:
      'no importer for this key; expected usage-events/… or batches/<id>/events/… or batches/<id>/replacements/…',
  },
};

/** Time kept back from the function's limit to settle the rows read, save the checkpoint and report. */
const REPORT_MARGIN_MS = 60_000;

type ImportContext = Pick<Context, 'getRemainingTimeInMillis' | 'functionName'>;

/** Reading stops before the time limit; the rest of the file goes to a fresh invocation of this function. */
function budgetOf(context: ImportContext): ImportBudget {
  const maxRows = config().IMPORT_ROWS_PER_INVOCATION;
  return {
    deadline: Date.now() + context.getRemainingTimeInMillis() - REPORT_MARGIN_MS,
    ...(maxRows ? { maxRows } : {}),
    continueLater: (file, seq) => sendImportContinuation(context.functionName, continuationOf(file, seq)),
  };
}

export async function handler(event: S3Event | ImportContinuation, context?: ImportContext): Promise<void> {
  const budget = context ? budgetOf(context) : undefined;
  const continuation = ImportContinuation.safeParse(event);
  if (continuation.success) {
    const file = importFileOfContinuation(continuation.data);
    if (!file)
      throw new Error(`a continuation names ${continuation.data.importContinuation.key}, which no importer serves`);
    await importOnce(file, importers[file.target.kind], budget);
    return;
  }
  for (const record of (event as S3Event).Records) {
    const bucket = record.s3.bucket.name;
    const key = decodeS3Key(record.s3.object.key);
    if (isIgnoredKey(key)) continue;
    const target = importTargetOf(key);
    if (!target) {
      await writeImportResult(bucket, resultKeyOf(key), noImporter);
      logger.error('import failed', { bucket, key, status: noImporter.status, error: noImporter.error });
      continue;
    }
    await importOnce(importFileOf(record, key, target), importers[target.kind], budget);
  }
}
