// The S3 side of CSV imports: an uploaded file read as a stream, and its report written next to
// it under results/ (the JSON summary, and the errors CSV streamed as a multipart upload).
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { stringify } from 'csv-stringify';
import type { ImportFile, ImportResult } from '../domain/import-keys';
import { clients } from './clients';

const isGone = (err: unknown) => ['NoSuchKey', 'NoSuchVersion', 'NotFound'].includes((err as { name?: string })?.name ?? '');

/** The file's bytes as a stream (the notified version), or undefined when it no longer exists. */
export async function openImportFile(file: ImportFile): Promise<Readable | undefined> {
  try {
    const res = await clients.s3.send(
      new GetObjectCommand({ Bucket: file.bucket, Key: file.key, ...(file.versionId ? { VersionId: file.versionId } : {}) }),
    );
    return res.Body as Readable;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

export async function writeImportResult(bucket: string, key: string, result: ImportResult): Promise<void> {
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(result), ContentType: 'application/json' }));
}

/**
 * An errors report an earlier upload of the same key left would describe another file: it is
 * emptied to its header. Overwritten, not deleted: the import may not delete objects (deploy.md).
 */
export async function emptyErrorReport(bucket: string, key: string, header: readonly string[]): Promise<void> {
  try {
    await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (isGone(err)) return;
    throw err;
  }
  const body = await new Promise<string>((resolve, reject) => stringify([[...header]], { bom: true }, (err, out) => (err ? reject(err) : resolve(out))));
  await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv; charset=utf-8' }));
}

export interface ErrorReportWriter {
  /** Lines written so far (the header not counted). */
  readonly lines: number;
  write(line: readonly string[]): Promise<void>;
  /** Completes the upload. */
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * An errors CSV written as it grows: lines go through csv-stringify into a multipart upload
 * (one PUT while it is under 5 MB), so many bad rows never sit in memory together. Nothing is
 * uploaded until the first line.
 */
export function errorReportWriter(bucket: string, key: string, header: readonly string[]): ErrorReportWriter {
  let started: { csv: ReturnType<typeof stringify>; done: Promise<unknown>; upload: Upload } | undefined;
  let lines = 0;
  const start = () => {
    // A BOM, so that a spreadsheet opens the report as UTF-8.
    const csv = stringify({ bom: true });
    const body = new PassThrough();
    csv.pipe(body);
    const upload = new Upload({ client: clients.s3, params: { Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv; charset=utf-8' } });
    const done = upload.done();
    done.catch(() => undefined); // observed in write() and finish()
    csv.write([...header]);
    return { csv, done, upload };
  };
  return {
    get lines() {
      return lines;
    },
    async write(line) {
      started ??= start();
      lines++;
      if (!started.csv.write([...line])) await Promise.race([once(started.csv, 'drain'), started.done]);
    },
    async finish() {
      if (!started) return;
      started.csv.end();
      await started.done;
    },
    async abort() {
      if (!started) return;
      started.csv.destroy();
      await started.upload.abort().catch(() => undefined);
    },
  };
}
