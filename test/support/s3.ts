// S3 helpers for import tests: upload a CSV, wait for its report, read it back, and build the
// notification S3 sends for an object (to deliver it again, as S3 may).
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../infra/local/stack';
import { createS3Client, localCredentials } from '../../shared/store/clients';
import type { S3Event } from 'aws-lambda';
import { parse } from 'csv-parse/sync';
import { encodeS3EventKey } from '../../infra/local/s3';
import { invokeHandler } from '../../infra/local/lambda';
import type { ImportContinuation, ImportResult } from '../../shared/domain/import-keys';
import { errorsKeyOf, resultKeyOf } from '../../shared/domain/import-keys';
import { eventually } from './eventually';

export class Bucket {
  constructor(
    readonly s3: S3Client,
    readonly name: string,
  ) {}

  async put(key: string, body: string | Buffer): Promise<{ eTag: string }> {
    const res = await this.s3.send(
      new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentType: 'text/csv' }),
    );
    return { eTag: (res.ETag ?? '').replace(/"/g, '') };
  }

  /** The object's text, or undefined when there is none. */
  async text(key: string): Promise<string | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return await res.Body!.transformToString();
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** Polls for `results/<key>.json`. The local S3 may serve an object it is still writing: partial JSON is polled again. */
  async result(key: string, timeoutMs = 60_000): Promise<ImportResult> {
    return eventually(
      `results/${key}.json`,
      async () => {
        const text = await this.text(resultKeyOf(key));
        return text === undefined ? undefined : (JSON.parse(text) as ImportResult);
      },
      timeoutMs,
    );
  }

  /** `results/<key>.errors.csv` as records, header first (the BOM stripped). */
  async errors(key: string): Promise<string[][] | undefined> {
    const text = await this.text(errorsKeyOf(key));
    return text === undefined ? undefined : (parse(text, { bom: true, relax_column_count: true }) as string[][]);
  }
}

/** The ObjectCreated notification S3 sends for an object (keys form-encoded, as S3 does). */
export function objectCreated(bucket: string, key: string, eTag: string, principalId = 'AWS:local'): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'test', 'x-amz-id-2': 'test' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'test',
          bucket: { name: bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${bucket}` },
          object: { key: encodeS3EventKey(key), size: 0, eTag, sequencer: '0' },
        },
      },
    ],
  };
}

/** Delivers a notification (or a continuation) to the import handler as Lambda would (the module the local stack runs). */
export const deliver = (event: S3Event | ImportContinuation) =>
  invokeHandler('functions/import/handler.ts', 'import', event);

export interface StackWithBucket {
  stack: LocalStack;
  bucket: Bucket;
  /** Stops the stack and drops its table from the run's DynamoDB Local. */
  stop(): Promise<void>;
}

/** A local stack on the run's DynamoDB Local, in its own table, with a client on its bucket. */
export async function startStackWithBucket(prefix: string, options: LocalStackOptions = {}): Promise<StackWithBucket> {
  const stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `${prefix}-${randomUUID().slice(0, 8)}`,
    ...options,
  });
  const bucket = new Bucket(
    createS3Client({ AWS_REGION: stack.region, S3_ENDPOINT: stack.s3Endpoint }),
    stack.bucketName,
  );
  return {
    stack,
    bucket,
    async stop() {
      bucket.s3.destroy();
      await stack.stop();
      const dynamo = new DynamoDBClient({
        endpoint: inject('dynamoEndpoint'),
        region: 'us-east-1',
        credentials: localCredentials,
      });
      await dynamo.send(new DeleteTableCommand({ TableName: stack.tableName })).finally(() => dynamo.destroy());
    },
  };
}
