// S3 import handler: each file goes to the importer of its prefix, once per file version, and gets
// results/<key>.json (and .errors.csv). A file nobody can import is reported there, never dropped
// (DESIGN §2, no silent loss). A crash throws, so that Lambda retries (then the dead-letter queue).
import type { Context, S3Event } from 'aws-lambda';
import { decodeS3Key, importFileOf, importTargetOf, isIgnoredKey, resultKeyOf, type ImportKind, type ImportResult } from '../../shared/domain/import-keys';
import { logger } from '../../shared/logger';
import { batchEventsImporter, batchReplacementsImporter, importOnce, usageEventsImporter, type Importer } from '../../shared/services/csv-imports';
import { writeImportResult } from '../../shared/store/import-files';

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
    message: 'no importer for this key; expected usage-events/… or batches/<id>/events/… or batches/<id>/replacements/…',
  },
};

/** Time kept back from the function's limit to send the last chunk and write the report. */
const REPORT_MARGIN_MS = 60_000;

export async function handler(event: S3Event, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> {
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - REPORT_MARGIN_MS : Number.POSITIVE_INFINITY;
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    const key = decodeS3Key(record.s3.object.key);
    if (isIgnoredKey(key)) continue;
    const target = importTargetOf(key);
    if (!target) {
      await writeImportResult(bucket, resultKeyOf(key), noImporter);
      logger.error('import failed', { bucket, key, status: noImporter.status, error: noImporter.error });
      continue;
    }
    await importOnce(importFileOf(record, key, target), importers[target.kind], deadline);
  }
}
