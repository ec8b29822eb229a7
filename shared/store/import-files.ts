// The S3 side of CSV imports: an uploaded file read as a stream (from a byte offset, to go on
// where an earlier invocation stopped), and its report written next to it under results/: the
// JSON summary, and the errors CSV, written in parts while the file is read and joined at the end.
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { stringify } from 'csv-stringify';
import { importPartsPrefix, type ImportFile, type ImportResult } from '../domain/import-keys';
import { clients } from './clients';

const nameOf = (err: unknown) => (err as { name?: string })?.name ?? '';
const isGone = (err: unknown) => ['NoSuchKey', 'NoSuchVersion', 'NotFound'].includes(nameOf(err));

export type OpenedFile = { ok: true; body: Readable } | { ok: false; reason: 'gone' | 'changed' };

/**
 * The file's bytes from `offset` on, as a stream (the notified version). Reading on from an offset
 * needs the very bytes read before: without a version id (a bucket that is not versioned) the
 * object's ETag must still be the notified one.
 */
export async function openImportFile(file: ImportFile, offset = 0): Promise<OpenedFile> {
  try {
    const res = await clients.s3.send(
      new GetObjectCommand({
        Bucket: file.bucket,
        Key: file.key,
        ...(file.versionId ? { VersionId: file.versionId } : {}),
        ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
      }),
    );
    const body = res.Body as Readable;
    if (offset > 0 && !file.versionId && (res.ETag ?? '').replace(/"/g, '') !== file.version) {
      body.destroy();
      return { ok: false, reason: 'changed' };
    }
    return { ok: true, body };
  } catch (err) {
    if (isGone(err)) return { ok: false, reason: 'gone' };
    // Nothing after the offset (the last record ended the file).
    if (nameOf(err) === 'InvalidRange') return { ok: true, body: Readable.from([]) };
    throw err;
  }
}

/**
 * A URL that lets its holder PUT one CSV file on `key` until it expires (the dashboard's uploads).
 * The content type is signed (the PUT must send `content-type: text/csv`); no checksum is, so a
 * browser's plain PUT matches it.
 */
export const uploadUrl = (bucket: string, key: string, expiresIn: number): Promise<string> =>
  getSignedUrl(clients.s3, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: 'text/csv' }), {
    expiresIn,
    signableHeaders: new Set(['content-type']),
  });

/** A URL that downloads one object (an errors CSV) as a file named `fileName`, until it expires. */
export const downloadUrl = (bucket: string, key: string, fileName: string, expiresIn: number): Promise<string> =>
  getSignedUrl(
    clients.s3,
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ResponseContentDisposition: `attachment; filename="${fileName.replace(/["\\]/g, '_')}"`,
    }),
    { expiresIn },
  );

/** The report of an import (`results/<key>.json`), once written. */
export async function readImportResult(bucket: string, resultKey: string): Promise<ImportResult | undefined> {
  try {
    const res = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: resultKey }));
    return JSON.parse(await res.Body!.transformToString()) as ImportResult;
  } catch (err) {
    // The local S3 may serve an object it is still writing (S3 itself never does): not there yet.
    if (isGone(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** The object's current ETag (quotes removed), or undefined when there is none. */
export async function currentETag(bucket: string, key: string): Promise<string | undefined> {
  try {
    const res = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return (res.ETag ?? '').replace(/"/g, '');
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

export async function objectExists(bucket: string, key: string): Promise<boolean> {
  try {
    await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (isGone(err)) return false;
    throw err;
  }
}

export async function writeImportResult(bucket: string, key: string, result: ImportResult): Promise<void> {
  await clients.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(result), ContentType: 'application/json' }),
  );
}

/** A BOM, so that a spreadsheet opens the report as UTF-8, and the header line. */
const headerLine = (header: readonly string[]) =>
  new Promise<string>((resolve, reject) =>
    stringify([[...header]], { bom: true }, (err, out) => (err ? reject(err) : resolve(out))),
  );

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
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: await headerLine(header),
      ContentType: 'text/csv; charset=utf-8',
    }),
  );
}

/** The S3 key of an import's work object (an errors part, a carried state): under a prefix of its own that expires. */
export const importPartKey = (partsFolder: string, name: string): string =>
  `${importPartsPrefix}${partsFolder}/${name}`;

/**
 * The errors CSV of a file from its parts: a BOM and the header, then each part's lines in turn,
 * streamed (never held in memory). A part that is missing fails the import loudly: its lines would be lost.
 */
export async function composeErrorReport(
  bucket: string,
  key: string,
  header: readonly string[],
  partKeys: readonly string[],
): Promise<void> {
  async function* body() {
    yield await headerLine(header);
    for (const partKey of partKeys) {
      const res = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: partKey }));
      yield* res.Body as Readable;
    }
  }
  await new Upload({
    client: clients.s3,
    params: { Bucket: bucket, Key: key, Body: Readable.from(body()), ContentType: 'text/csv; charset=utf-8' },
  }).done();
}

/** A small JSON work object (the state carried from one invocation of an import to the next). */
export async function writeImportPart(bucket: string, key: string, value: unknown): Promise<void> {
  await clients.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }),
  );
}

export async function readImportPart(bucket: string, key: string): Promise<unknown> {
  const res = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await res.Body!.transformToString());
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
 * A part of an errors CSV, written as it grows: lines (no header; composeErrorReport adds it) go
 * through csv-stringify into a multipart upload (one PUT while it is under 5 MB), so many bad rows
 * never sit in memory together. Nothing is uploaded until the first line.
 */
export function errorPartWriter(bucket: string, key: string): ErrorReportWriter {
  let started: { csv: ReturnType<typeof stringify>; done: Promise<unknown>; upload: Upload } | undefined;
  let lines = 0;
  const start = () => {
    const csv = stringify();
    const body = new PassThrough();
    csv.pipe(body);
    const upload = new Upload({
      client: clients.s3,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv; charset=utf-8' },
    });
    const done = upload.done();
    done.catch(() => undefined); // observed in write() and finish()
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
