// The whole system on one machine (DESIGN §5): DynamoDB Local, a local S3 whose uploads invoke the
// import handler, the route table behind a local HTTP API, and the workflow list's ASL files run
// by a local Step Functions endpoint. Every listener is on 127.0.0.1. One stack per process: the
// handlers read their configuration from this process's environment.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Event } from 'aws-lambda';
import { taskFunctions as listedTaskFunctions, workflows as listedWorkflows } from '../../functions/workflow/workflows';
import { resetConfig } from '../../shared/config';
import { localCredentials, resetClients } from '../../shared/store/clients';
import { defaultTableName } from '../../shared/store/table';
import { createTable } from './create-table';
import { localDir, startDynamoDbLocal } from './dynamodb-local';
import { Executions } from './executions';
import { startHttpApi } from './http-api';
import { invokeHandler } from './lambda';
import { startS3 } from './s3';
import { loadStateMachines, type TaskFunctionSpec, type WorkflowSpec } from './state-machines';
import { startStepFunctionsServer } from './step-functions-server';

export interface LocalStackOptions {
  /** 0 or absent: any free port. */
  ports?: { api?: number; s3?: number; dynamodb?: number; sfn?: number };
  /** Nothing survives stop(): DynamoDB Local in memory, S3 objects in a temporary folder. */
  inMemory?: boolean;
  /** Where DynamoDB and S3 keep their data when not in memory; default `.local/data`. */
  dataDir?: string;
  /** Use this running DynamoDB instead of starting one (tests share the run's server). */
  dynamoEndpoint?: string;
  tableName?: string;
  bucketName?: string;
  region?: string;
  /** false: uploads do not invoke the import handler (a benchmark delivers the notification itself). */
  importUploads?: boolean;
  /** Replace the workflow list and task functions (tests run their own fixtures). */
  workflows?: Readonly<Record<string, WorkflowSpec>>;
  taskFunctions?: Readonly<Record<string, TaskFunctionSpec>>;
  /** Replaces every Retry's wait, in milliseconds (fault-injection tests). */
  retryIntervalMs?: number;
  /**
   * Replaces every Task's TimeoutSeconds in the loaded ASL (fractions allowed), never in the files:
   * fault-injection tests make a slow attempt time out and race its retry.
   */
  taskTimeoutSeconds?: number;
}

export interface LocalStack {
  apiUrl: string;
  s3Endpoint: string;
  bucketName: string;
  dynamoEndpoint: string;
  sfnEndpoint: string;
  tableName: string;
  region: string;
  /** Workflow name → state machine ARN, as STATE_MACHINE_ARNS carries it. */
  stateMachineArns: Record<string, string>;
  /** Resolves when no task function runs, attempts that timed out and run on included. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const importHandler = 'functions/import/handler.ts';
export const defaultBucketName = 'usage-corrections-local';

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const region = options.region ?? 'us-east-1';
  const tableName = options.tableName ?? defaultTableName;
  const bucketName = options.bucketName ?? defaultBucketName;
  const dataDir = options.dataDir ?? join(localDir, 'data');
  const ports = options.ports ?? {};
  // Load the ASL first: a broken definition fails before anything starts.
  const machines = loadStateMachines(options.workflows ?? listedWorkflows, options.taskFunctions ?? listedTaskFunctions, region, {
    taskTimeoutSeconds: options.taskTimeoutSeconds,
  });

  // Each started part registers how to stop it; stop() and a failed start run them in reverse.
  const closers: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const close of closers.reverse()) {
        await close().catch((error: unknown) => console.error('local stack: stopping a part failed', error));
      }
      resetClients();
    })());

  try {
    let dynamoEndpoint = options.dynamoEndpoint;
    if (!dynamoEndpoint) {
      const dynamo = await startDynamoDbLocal({
        port: ports.dynamodb || undefined,
        dbPath: options.inMemory ? undefined : join(dataDir, 'dynamodb'),
      });
      closers.push(dynamo.stop);
      dynamoEndpoint = dynamo.endpoint;
    }
    const dynamoClient = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: localCredentials });
    await createTable(dynamoClient, tableName).finally(() => dynamoClient.destroy());

    let s3Directory = join(dataDir, 's3');
    if (options.inMemory) {
      s3Directory = mkdtempSync(join(tmpdir(), 'usage-corrections-s3-'));
      closers.push(async () => rmSync(s3Directory, { recursive: true, force: true }));
    } else {
      mkdirSync(s3Directory, { recursive: true });
    }
    const s3 = await startS3({
      port: ports.s3 ?? 0,
      directory: s3Directory,
      bucketName,
      region,
      // An asynchronous invocation, as S3 makes it: the handler's return value goes nowhere.
      onObjectCreated: async (event: S3Event) => {
        if (options.importUploads !== false) await invokeHandler(importHandler, 'import', event);
      },
    });
    closers.push(s3.close);

    const executions = new Executions(machines, { retryIntervalMs: options.retryIntervalMs });
    const sfn = await startStepFunctionsServer(ports.sfn ?? 0, executions);
    closers.push(async () => {
      await sfn.close();
      await executions.close();
    });
    const stateMachineArns = Object.fromEntries([...machines.byArn.values()].map((m) => [m.name, m.arn]));

    // Handlers import lazily, on their first request; by then they read this environment.
    Object.assign(process.env, {
      TABLE_NAME: tableName,
      BUCKET_NAME: bucketName,
      AWS_REGION: region,
      DYNAMODB_ENDPOINT: dynamoEndpoint,
      S3_ENDPOINT: s3.endpoint,
      SFN_ENDPOINT: sfn.url,
      STATE_MACHINE_ARNS: JSON.stringify(stateMachineArns),
      // Whatever builds its own client signs with dummy keys and can never reach a real account.
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    resetConfig();
    resetClients();

    const api = await startHttpApi(ports.api ?? 0);
    closers.push(api.close);

    return {
      apiUrl: api.url,
      s3Endpoint: s3.endpoint,
      bucketName,
      dynamoEndpoint,
      sfnEndpoint: sfn.url,
      tableName,
      region,
      stateMachineArns,
      idle: () => machines.idle(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
