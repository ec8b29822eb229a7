// Imports through the API: the dashboard asks for an upload URL, PUTs the file into the imports
// bucket (so the S3 drop's own import runs, exactly as for a partner's file), then reads the report.
import { randomUUID } from 'node:crypto';
import { config } from '../config';
import { DomainError } from '../domain/errors';
import {
  importIdOf,
  importTargetOf,
  keyOfImportId,
  resultKeyOf,
  UPLOAD_URL_SECONDS,
  uploadKeyOf,
  type ImportResult,
  type ImportTarget,
} from '../domain/import-keys';
import { appendLog } from '../store/batch-log';
import { batchFor } from '../store/batches';
import { downloadUrl, objectExists, readImportResult, uploadUrl } from '../store/import-files';

function bucketName(): string {
  const bucket = config().BUCKET_NAME;
  if (!bucket) throw new Error('BUCKET_NAME is not set');
  return bucket;
}

/**
 * An upload URL for one new file. A batch file is refused at once when the batch could not take it
 * (the import would report the same refusal), and the batch log records who asked: the import
 * itself only knows the signer of the URL.
 */
export async function requestUpload(
  target: ImportTarget,
  fileName: string,
  actor: string,
  now: string,
  uploadId: string = randomUUID(),
) {
  if (target.kind !== 'usage-events')
    await batchFor(target.batchId, target.kind === 'batch-events' ? 'ADD_EVENTS' : 'ADD_REPLACEMENTS');
  const key = uploadKeyOf(target, uploadId, fileName);
  const url = await uploadUrl(bucketName(), key, UPLOAD_URL_SECONDS);
  const expiresAt = new Date(Date.parse(now) + UPLOAD_URL_SECONDS * 1000).toISOString();
  if (target.kind !== 'usage-events') {
    await appendLog(target.batchId, {
      at: now,
      actor,
      action: 'IMPORT_UPLOAD',
      message: `upload of ${key} allowed until ${expiresAt}`,
      data: { key },
    });
  }
  return {
    importId: importIdOf(key),
    key,
    upload: { method: 'PUT' as const, url, headers: { 'content-type': 'text/csv' }, expiresAt },
  };
}

export type ImportState = 'WAITING_FOR_FILE' | 'IMPORTING' | ImportResult['status'];

/** Where an import stands: no file yet, being imported, or finished with its report (and a link to its errors CSV). */
export async function importStatus(importId: string) {
  const key = keyOfImportId(importId);
  if (!key) throw new DomainError('NOT_FOUND', `import ${importId} was not found`);
  const bucket = bucketName();
  const target = importTargetOf(key)!;
  const report = await readImportResult(bucket, resultKeyOf(key));
  if (report) {
    const name = key.slice(key.lastIndexOf('/') + 1);
    const errorsUrl = report.errorsKey
      ? await downloadUrl(bucket, report.errorsKey, `${name}.errors.csv`, UPLOAD_URL_SECONDS)
      : undefined;
    return { importId, key, target, state: report.status as ImportState, report, ...(errorsUrl ? { errorsUrl } : {}) };
  }
  const state: ImportState = (await objectExists(bucket, key)) ? 'IMPORTING' : 'WAITING_FOR_FILE';
  return { importId, key, target, state };
}
