// AWS clients built once per process from the validated configuration.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config, type Config } from '../config';

/** The credentials every local endpoint accepts (DynamoDB Local, the local S3 and Step Functions). */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

function createDocumentClient(cfg: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: cfg.AWS_REGION,
    ...(cfg.DYNAMODB_ENDPOINT ? { endpoint: cfg.DYNAMODB_ENDPOINT, credentials: localCredentials } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    // Every number we store is an integer (scaled quantity, minor units, counter): read them as
    // bigint so no value ever passes through a binary float. A non-integer throws, loudly.
    unmarshallOptions: { wrapNumbers: (value: string) => BigInt(value) },
  });
}

export function createS3Client(cfg: Pick<Config, 'AWS_REGION' | 'S3_ENDPOINT'>): S3Client {
  return new S3Client({
    region: cfg.AWS_REGION,
    // Local S3 servers store streamed bodies with their chunk framing unless checksums are opt-in.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(cfg.S3_ENDPOINT ? { endpoint: cfg.S3_ENDPOINT, forcePathStyle: true, credentials: localCredentials } : {}),
  });
}

export function createSfnClient(cfg: Pick<Config, 'AWS_REGION' | 'SFN_ENDPOINT'>): SFNClient {
  return new SFNClient({
    region: cfg.AWS_REGION,
    ...(cfg.SFN_ENDPOINT ? { endpoint: cfg.SFN_ENDPOINT, credentials: localCredentials } : {}),
  });
}

function createLambdaClient(cfg: Pick<Config, 'AWS_REGION' | 'LAMBDA_ENDPOINT'>): LambdaClient {
  return new LambdaClient({
    region: cfg.AWS_REGION,
    ...(cfg.LAMBDA_ENDPOINT ? { endpoint: cfg.LAMBDA_ENDPOINT, credentials: localCredentials } : {}),
  });
}

let doc: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
let sfn: SFNClient | undefined;
let lambda: LambdaClient | undefined;

export const clients = {
  get dynamo(): DynamoDBDocumentClient {
    return (doc ??= createDocumentClient(config()));
  },
  get s3(): S3Client {
    return (s3 ??= createS3Client(config()));
  },
  get sfn(): SFNClient {
    return (sfn ??= createSfnClient(config()));
  },
  get lambda(): LambdaClient {
    return (lambda ??= createLambdaClient(config()));
  },
  get tableName(): string {
    return config().TABLE_NAME;
  },
};

/** Drops cached clients (tests switch endpoints and tables between files). */
export function resetClients(): void {
  doc?.destroy();
  s3?.destroy();
  sfn?.destroy();
  lambda?.destroy();
  doc = s3 = sfn = lambda = undefined;
}
