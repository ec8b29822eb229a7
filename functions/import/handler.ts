// S3 import handler: each file goes to the importer of its prefix and gets results/<key>.json.
// A file nobody can import is reported there, never dropped (DESIGN §2, no silent loss).
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import type { ErrorCode } from '../../shared/domain/errors';
import { decodeS3Key, importTargetOf, isIgnoredKey, resultKeyOf, type ImportKind, type ImportTarget } from '../../shared/domain/import-keys';
import { logger } from '../../shared/logger';
import { clients } from '../../shared/store/clients';

/** The body of `results/<key>.json`. */
export interface ImportResult {
  status: 'COMPLETED' | 'COMPLETED_WITH_ERRORS' | 'FAILED';
  rows: number;
  accepted: number;
  rejected: number;
  error?: { code: ErrorCode; message: string };
}

export interface ImportFile {
  bucket: string;
  key: string;
  target: ImportTarget;
}

export type Importer = (file: ImportFile) => Promise<ImportResult>;

// Each importer arrives with its own issue; until then a file of that kind is reported as unimportable.
const importers: Partial<Record<ImportKind, Importer>> = {};

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

export async function handler(event: S3Event): Promise<void> {
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    const key = decodeS3Key(record.s3.object.key);
    if (isIgnoredKey(key)) continue;
    const target = importTargetOf(key);
    const importer = target && importers[target.kind];
    const result = target && importer ? await importer({ bucket, key, target }) : noImporter;
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: resultKeyOf(key),
        Body: JSON.stringify(result),
        ContentType: 'application/json',
      }),
    );
    logger.info('import finished', { bucket, key, status: result.status, rows: result.rows });
  }
}
