// Local S3 (s3rver) on 127.0.0.1 whose object-created notifications look like real S3's, filtered
// by the same prefixes the cloud bucket notifies on.
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver, { type S3rverEventRecord, type S3rverStore } from 's3rver';
import { DUMMY_ACCOUNT } from 's3rver/lib/models/account.js';
import { importPrefixes, importSuffix, uploadCors } from '../../shared/domain/import-keys';
import { localCredentials } from '../../shared/store/clients';

export interface LocalS3 {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface LocalS3Options {
  port: number;
  directory: string;
  bucketName: string;
  region: string;
  /** Origins whose browsers may PUT uploads (the dashboard's), as the cloud bucket's CORS rule allows its own. */
  uploadOrigins?: readonly string[];
  onObjectCreated(event: S3Event): Promise<void>;
}

/** S3 form-encodes keys in notifications (a space becomes '+') but leaves '/' as it is. */
export const encodeS3EventKey = (key: string): string =>
  encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/gi, '/');

export async function startS3(options: LocalS3Options): Promise<LocalS3> {
  // s3rver only accepts access keys it knows; the project's clients sign with the local ones.
  DUMMY_ACCOUNT.createKeyPair(localCredentials.accessKeyId, localCredentials.secretAccessKey);
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [
      { name: options.bucketName, configs: options.uploadOrigins?.length ? [corsXml(options.uploadOrigins)] : [] },
    ],
  });
  wholeObjects(server.store, `${options.directory}.incoming`);
  const inFlight = new Set<Promise<void>>();
  server.on('event', ({ Records }) => {
    for (const record of Records) {
      if (!record.eventName.startsWith('ObjectCreated:')) continue;
      const key = record.s3.object.key;
      if (!importPrefixes.some((prefix) => key.startsWith(prefix)) || !key.endsWith(importSuffix)) continue;
      const delivery = options
        .onObjectCreated({ Records: [asS3Record(record, options.region)] })
        .catch((error: unknown) => console.error(`import of ${record.s3.object.key} failed:`, error))
        .finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    }
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async close() {
      // Imports in flight still write their results to this server.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await server.close();
    },
  };
}

/**
 * Real S3 never hands a reader a half-written object: a PUT is seen whole or not at all. s3rver
 * writes in place (a reader meets the object truncated or half there, with the old metadata), so
 * its PUTs are written aside and renamed into place with their metadata, and a read opens the
 * object (a fresh file each time, so a later PUT does not change a read under way) between them.
 */
function wholeObjects(store: S3rverStore, incoming: string): void {
  const tails = new Map<string, Promise<unknown>>();
  const oneAtATime = <T>(path: string, run: () => Promise<T>): Promise<T> => {
    const result = (tails.get(path) ?? Promise.resolve()).then(run, run);
    const tail = result.catch(() => undefined);
    tails.set(path, tail);
    void tail.then(() => tails.get(path) === tail && tails.delete(path));
    return result;
  };
  const getObject = store.getObject.bind(store);
  store.getObject = (bucket, key, options) =>
    oneAtATime(store.getResourcePath(bucket, key, 'object'), () => getObject(bucket, key, options));
  store.putObject = async (object) => {
    const target = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(incoming, { recursive: true });
    const aside = `${incoming}/${randomUUID()}`;
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content)
      ? Readable.from([object.content])
      : (object.content as NodeJS.ReadableStream);
    try {
      await pipeline(source, count, createWriteStream(aside));
      const digest = md5.digest('hex');
      await mkdir(dirname(target), { recursive: true });
      await oneAtATime(target, async () => {
        await rename(aside, target);
        await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      });
      return { size, md5: digest };
    } finally {
      await rm(aside, { force: true });
    }
  };
}

/** The bucket's CORS rule for uploads, in the XML s3rver (and S3's PutBucketCors) reads. */
function corsXml(origins: readonly string[]): string {
  const tags = (name: string, values: readonly string[]) => values.map((v) => `<${name}>${v}</${name}>`).join('');
  return (
    '<CORSConfiguration><CORSRule>' +
    tags('AllowedOrigin', origins) +
    tags('AllowedMethod', uploadCors.allowedMethods) +
    tags('AllowedHeader', uploadCors.allowedHeaders) +
    `<MaxAgeSeconds>${uploadCors.maxAgeSeconds}</MaxAgeSeconds>` +
    '</CORSRule></CORSConfiguration>'
  );
}

function asS3Record(record: S3rverEventRecord, region: string): S3EventRecord {
  const { bucket, object } = record.s3;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: record.eventTime,
    eventName: record.eventName,
    userIdentity: { principalId: 'AWS:local' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': object.sequencer, 'x-amz-id-2': object.sequencer },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'local-import',
      bucket: { name: bucket.name, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket.name}` },
      object: {
        key: encodeS3EventKey(object.key),
        size: object.size ?? 0,
        eTag: object.eTag ?? '',
        sequencer: object.sequencer,
      },
    },
  };
}
