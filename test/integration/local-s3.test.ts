// The local S3 behaves as real S3 where imports depend on it: a PUT is seen whole or not at all.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type LocalS3 } from '../../infra/local/s3';
import { createS3Client } from '../../shared/store/clients';
import { eventually } from '../support/eventually';

let parent: string;
let s3: LocalS3;
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'local-s3-'));
  s3 = await startS3({
    port: 0,
    directory: join(parent, 's3'),
    bucketName: 'whole',
    region: 'us-east-1',
    onObjectCreated: async () => undefined,
  });
});
afterAll(async () => {
  await s3?.close();
  await rm(parent, { recursive: true, force: true });
});

/** Every file under `dir` with its size. */
async function sizes(dir: string): Promise<number[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(entries.filter((e) => e.isFile()).map(async (e) => (await stat(join(e.parentPath, e.name))).size));
}

describe('the local S3', () => {
  it('never hands a reader a half-written object: during a rewrite a GET reads the previous object whole', async () => {
    const client = createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: s3.endpoint });
    const read = async () =>
      await (await client.send(new GetObjectCommand({ Bucket: 'whole', Key: 'k.csv' }))).Body!.transformToString();
    await client.send(new PutObjectCommand({ Bucket: 'whole', Key: 'k.csv', Body: 'a'.repeat(1000) }));
    // The rewrite sends its first half, then waits until the reader has read.
    let rest: () => void = () => undefined;
    const readerDone = new Promise<void>((resolve) => {
      rest = resolve;
    });
    const body = Readable.from(
      (async function* () {
        yield Buffer.from('b'.repeat(500));
        await readerDone;
        yield Buffer.from('b'.repeat(500));
      })(),
    );
    const rewrite = client.send(
      new PutObjectCommand({ Bucket: 'whole', Key: 'k.csv', Body: body, ContentLength: 1000 }),
    );
    try {
      await eventually('the server to hold the first half', async () =>
        (await sizes(parent)).includes(500) ? true : undefined,
      );
      expect(await read()).toBe('a'.repeat(1000));
    } finally {
      rest();
    }
    await rewrite;
    expect(await read()).toBe('b'.repeat(1000));
    client.destroy();
  });
});
