// The whole system on one machine (DESIGN §5): DynamoDB Local, a local S3 whose uploads invoke the
// import handler, a local Lambda endpoint (the import invokes itself to continue a long file), the
// route table behind a local HTTP API, and the workflow list's ASL files run by a local Step
// Functions endpoint. Every listener is on 127.0.0.1. One stack per process: the handlers read
// their configuration from this process's environment.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Event } from 'aws-lambda';
import { taskFunctions as listedTaskFunctions, workflows as listedWorkflows } from '../../functions/workflow/workflows';
import { resetConfig } from '../../shared/config';
import { approvalSettings, type ApprovalProps } from '../approval';
import { localCredentials, resetClients } from '../../shared/store/clients';
import { defaultTableName } from '../../shared/store/table';
import { createTable } from './create-table';
import { serveDashboard } from './dashboard';
import { localDir, startDynamoDbLocal } from './dynamodb-local';
import { Executions } from './executions';
import { startHttpApi } from './http-api';
import { invokeHandler } from './lambda';
import { startLambdaServer, type RunFunction } from './lambda-server';
import { startS3 } from './s3';
import { loadStateMachines, type TaskFunctionSpec, type WorkflowSpec } from './state-machines';
import { startStepFunctionsServer } from './step-functions-server';

export interface LocalStackOptions {
  /** 0 or absent: any free port. */
  ports?: { api?: number; s3?: number; dynamodb?: number; sfn?: number; lambda?: number; dashboard?: number };
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
  /** Rows one invocation of the import reads at most (IMPORT_ROWS_PER_INVOCATION): a file is then imported in several. */
  importRowsPerInvocation?: number;
  /** Four-eyes approval of submit, as the cloud stack's `approval` prop; absent: off. */
  approval?: ApprovalProps;
  /**
   * How an invocation of a function the stack invokes asynchronously (the import, from S3 or from
   * itself) runs: by default in this process (invokeHandler); the csv-import benchmark runs it in a
   * child process of its own, as Lambda would.
   */
  runFunction?: RunFunction;
  /** Serve the dashboard built into this folder (buildDashboard), on an origin of its own that the API and the bucket let call them. */
  dashboard?: { directory: string };
  /** Told what the stack is starting, part by part (`npm start` prints it). */
  progress?: (step: string) => void;
}

export interface LocalStack {
  apiUrl: string;
  s3Endpoint: string;
  bucketName: string;
  dynamoEndpoint: string;
  sfnEndpoint: string;
  lambdaEndpoint: string;
  /** When the dashboard is served. */
  dashboardUrl?: string;
  tableName: string;
  region: string;
  /** Workflow name → state machine ARN, as STATE_MACHINE_ARNS carries it. */
  stateMachineArns: Record<string, string>;
  /** Resolves when no task function runs, attempts that timed out and run on included. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Functions invoked asynchronously (by S3, or by themselves), by name, with their handler modules. */
export const asyncFunctions: Readonly<Record<string, string>> = { import: 'functions/import/handler.ts' };
export const defaultBucketName = 'usage-corrections-local';

const runInProcess: RunFunction = (functionName, event) =>
  invokeHandler(asyncFunctions[functionName]!, functionName, event);

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const region = options.region ?? 'us-east-1';
  const tableName = options.tableName ?? defaultTableName;
  const bucketName = options.bucketName ?? defaultBucketName;
  const dataDir = options.dataDir ?? join(localDir, 'data');
  const ports = options.ports ?? {};
  const progress = options.progress ?? (() => undefined);
  progress('loading the workflows (ASL files)…');
  // Load the ASL first: a broken definition fails before anything starts.
  const machines = loadStateMachines(
    options.workflows ?? listedWorkflows,
    options.taskFunctions ?? listedTaskFunctions,
    region,
    {
      taskTimeoutSeconds: options.taskTimeoutSeconds,
    },
  );

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
      progress('starting DynamoDB Local (Java)…');
      const dynamo = await startDynamoDbLocal({
        progress,
        port: ports.dynamodb || undefined,
        dbPath: options.inMemory ? undefined : join(dataDir, 'dynamodb'),
      });
      closers.push(dynamo.stop);
      dynamoEndpoint = dynamo.endpoint;
    }
    const dynamoClient = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: localCredentials });
    progress(`creating the table ${tableName} if it is missing…`);
    await createTable(dynamoClient, tableName).finally(() => dynamoClient.destroy());

    // Every asynchronous invocation in flight, from S3 or from the Lambda endpoint: stop() waits for them all.
    const invocations = new Set<Promise<unknown>>();
    const run = options.runFunction ?? runInProcess;
    const runTracked: RunFunction = (functionName, event) => {
      const invocation = run(functionName, event);
      invocations.add(invocation);
      invocation.then(
        () => invocations.delete(invocation),
        () => invocations.delete(invocation),
      );
      return invocation;
    };
    progress('starting the Lambda endpoint, S3 and Step Functions…');
    const lambda = await startLambdaServer(ports.lambda ?? 0, new Set(Object.keys(asyncFunctions)), runTracked);
    closers.push(lambda.close);

    // The dashboard first: the API and the bucket allow calls from its origin. It reads the API's URL once the API listens.
    let apiUrl = '';
    let s3Endpoint = '';
    const dashboard = options.dashboard
      ? await serveDashboard({
          port: ports.dashboard ?? 0,
          directory: options.dashboard.directory,
          config: () => ({ apiUrl }),
          connectSources: () => [apiUrl, s3Endpoint],
        })
      : undefined;
    if (dashboard) closers.push(dashboard.close);
    const browserOrigins = dashboard ? [dashboard.url] : [];

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
      uploadOrigins: browserOrigins,
      // An asynchronous invocation, as S3 makes it: the handler's return value goes nowhere.
      onObjectCreated: async (event: S3Event) => {
        if (options.importUploads !== false) await runTracked('import', event);
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
      LAMBDA_ENDPOINT: lambda.url,
      STATE_MACHINE_ARNS: JSON.stringify(stateMachineArns),
      // Whatever builds its own client signs with dummy keys and can never reach a real account.
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    if (options.importRowsPerInvocation)
      process.env.IMPORT_ROWS_PER_INVOCATION = String(options.importRowsPerInvocation);
    else delete process.env.IMPORT_ROWS_PER_INVOCATION;
    for (const name of ['APPROVAL', 'APPROVAL_MIN_EVENTS', 'APPROVAL_MIN_CHARGE_CHANGE']) delete process.env[name];
    Object.assign(process.env, approvalSettings(options.approval));
    resetConfig();
    resetClients();

    s3Endpoint = s3.endpoint;
    progress('starting the HTTP API…');
    const api = await startHttpApi(ports.api ?? 0, { allowOrigins: () => browserOrigins });
    closers.push(api.close);
    apiUrl = api.url;
    // Runs first: imports in flight (and the continuations they send) still need S3 and DynamoDB.
    closers.push(async () => {
      while (invocations.size > 0) await Promise.allSettled([...invocations]);
    });

    return {
      apiUrl: api.url,
      s3Endpoint: s3.endpoint,
      bucketName,
      dynamoEndpoint,
      sfnEndpoint: sfn.url,
      lambdaEndpoint: lambda.url,
      ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
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
