// Benchmark: a usage-events CSV drop through the import function against a local stack (DynamoDB
// Local, the local S3, the local Lambda endpoint). Workload: 1,000,000 rows (smoke: 1,000) over 50
// subscriptions, one row in 100 bad, uploaded as a stream. The import runs as Lambda runs it: the
// function bundled as the stack deploys it (NodejsFunction), each invocation a plain `node` process
// of its own, pointed at the local endpoints by its environment, with Lambda's time limit (15
// minutes); a file longer than one invocation continues in the next through the local Lambda
// endpoint. Reports rows/s (first invocation to report), the import's peak RSS (the largest
// maxRSS of its processes, alone: the local stack runs in this process, DynamoDB Local in Java)
// and the number of invocations.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { importFunction } from '../../infra/constructs/imports';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { csvRecords } from '../../shared/services/csv-imports/csv-records';
import type { ImportResult } from '../../shared/domain/import-keys';
import { createS3Client, localCredentials } from '../../shared/store/clients';
import { call } from '../support/api';
import { aSubscription } from '../support/builders';
import { bundleFunction } from '../support/bundle';
import { Bucket, objectCreated } from '../support/s3';
import type { Benchmark, Measurement } from './benchmark';

export const FULL_ROWS = 1_000_000;
export const SMOKE_ROWS = 1_000;
/** Smoke: rows an invocation reads at most, so that the file is imported in three. */
export const SMOKE_ROWS_PER_INVOCATION = 400;
const SUBSCRIPTIONS = 50;
/** Every BAD_EVERY-th row has a quantity the API refuses. */
export const BAD_EVERY = 100;
/** Lambda's longest time limit, the import function's (infra/constructs/functions.ts). */
const LAMBDA_TIMEOUT_MS = 15 * 60_000;
const HEADER = 'event_id,subscription_id,product_id,quantity,occurred_at,parent_event_id,attr_region';

/** The file, line by line: generated as it is uploaded, never whole in memory. */
export function* usageEventLines(rows: number, run: string): Generator<string> {
  yield `${HEADER}\n`;
  const start = Date.UTC(2026, 0, 1);
  for (let i = 1; i <= rows; i++) {
    const quantity = i % BAD_EVERY === 0 ? 'lots' : String(1 + (i % 97));
    yield `${run}-${i},bench-${run}-${i % SUBSCRIPTIONS},voice,${quantity},${new Date(start + i * 1000).toISOString()},,r${i % 7}\n`;
  }
}

export interface CsvImportRun {
  rows: number;
  /** Use this DynamoDB Local (tests share theirs); otherwise the stack starts one. */
  dynamoEndpoint?: string;
  /** Rows one invocation reads at most (IMPORT_ROWS_PER_INVOCATION); by default as many as its time limit allows. */
  rowsPerInvocation?: number;
  /** Each invocation's time limit (BENCH_IMPORT_TIMEOUT_S; default Lambda's 15 minutes). */
  timeoutMs?: number;
}

/** One invocation of the import function, in a process of its own. */
export interface Invocation {
  seconds: number;
  maxRssMb: number;
  cpuSeconds: number;
  failed?: string;
}

/**
 * Runs the bundled handler once in a fresh `node` process, as a Lambda invocation: the event, a
 * context whose remaining time counts down from the time limit, then the process's own figures.
 */
async function invokeInProcessOfItsOwn(
  bundleDir: string,
  event: unknown,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Invocation> {
  const script = `
    const started = Date.now();
    const { handler } = await import(${JSON.stringify(pathToFileURL(join(bundleDir, 'index.mjs')).href)});
    const context = { functionName: 'import', awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => started + ${timeoutMs} - Date.now() };
    let failed;
    try { await handler(JSON.parse(process.env.EVENT), context); } catch (error) { failed = String(error?.stack ?? error); }
    const usage = process.resourceUsage();
    console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000, maxRssMb: Math.round(usage.maxRSS / 1024), cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, ...(failed ? { failed } : {}) }));
    process.exit(0);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: bundleDir,
    env: { ...env, EVENT: JSON.stringify(event) },
    // Lambda ends an invocation at its time limit.
    timeout: timeoutMs + 5_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Invocation;
}

/** The row numbers an errors CSV lists, read as a stream. */
async function reportedRows(s3: S3Client, bucket: string, key: string): Promise<number[]> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const rows: number[] = [];
  let header = true;
  for await (const record of csvRecords(res.Body as Readable)) {
    if (header) header = false;
    else rows.push(Number(record.cells[0]));
  }
  return rows;
}

export async function runCsvImport({
  rows,
  dynamoEndpoint,
  rowsPerInvocation,
  timeoutMs = LAMBDA_TIMEOUT_MS,
}: CsvImportRun): Promise<Measurement> {
  const run = randomUUID().slice(0, 8);
  const bundleDir = bundleFunction('bench-import-function', importFunction, 'import');

  const invocations: Invocation[] = [];
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let stack: LocalStack | undefined;
  // The function's environment in AWS (infra/constructs/functions.ts), with the local endpoints.
  const functionEnv = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    TABLE_NAME: stack!.tableName,
    BUCKET_NAME: stack!.bucketName,
    AWS_REGION: stack!.region,
    DYNAMODB_ENDPOINT: stack!.dynamoEndpoint,
    S3_ENDPOINT: stack!.s3Endpoint,
    LAMBDA_ENDPOINT: stack!.lambdaEndpoint,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    NODE_OPTIONS: '--enable-source-maps',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(rowsPerInvocation ? { IMPORT_ROWS_PER_INVOCATION: String(rowsPerInvocation) } : {}),
  });
  const invoke = async (_name: string, event: unknown) => {
    inFlight++;
    try {
      const invocation = await invokeInProcessOfItsOwn(bundleDir, event, functionEnv(), timeoutMs).catch(
        // The process died (Lambda's time limit, out of memory) or never ran.
        (error: unknown): Invocation => ({ seconds: 0, maxRssMb: 0, cpuSeconds: 0, failed: String(error) }),
      );
      invocations.push(invocation);
      if (invocation.failed) throw new Error(`the import failed: ${invocation.failed}`);
    } finally {
      // A continuation is registered before the invocation that sends it ends: no gap.
      if (--inFlight === 0) idle?.();
    }
  };

  stack = await startLocalStack({
    inMemory: true,
    importUploads: false,
    tableName: `bench-${run}`,
    runFunction: invoke,
    ...(dynamoEndpoint ? { dynamoEndpoint } : {}),
  });
  const s3 = createS3Client({ AWS_REGION: stack.region, S3_ENDPOINT: stack.s3Endpoint });
  try {
    for (let s = 0; s < SUBSCRIPTIONS; s++)
      await call('PUT', `/v1/subscriptions/bench-${run}-${s}`, { body: aSubscription({ startDate: '2025-01-01' }) });
    const key = `usage-events/bench-${run}.csv`;
    const upload = new Upload({
      client: s3,
      params: { Bucket: stack.bucketName, Key: key, Body: Readable.from(usageEventLines(rows, run)) },
    });
    const { ETag } = await upload.done();

    let stackPeak = process.memoryUsage().rss;
    const sampler = setInterval(() => (stackPeak = Math.max(stackPeak, process.memoryUsage().rss)), 250);
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => (idle = resolve));
    // S3's notification, delivered as S3 does: an asynchronous invocation.
    invoke('import', objectCreated(stack.bucketName, key, (ETag ?? '').replace(/"/g, ''))).catch(() => undefined);
    await done;
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);

    const failed = invocations.find((i) => i.failed);
    if (failed) throw new Error(`an invocation of the import failed: ${failed.failed}`);
    const result = (await new Bucket(s3, stack.bucketName).result(key)) as ImportResult;
    const bad = Math.floor(rows / BAD_EVERY);
    if (result.accepted !== rows - bad || result.rejected !== bad || result.rows !== rows || result.duplicates !== 0) {
      throw new Error(`the import did not land every row once: ${JSON.stringify(result)}`);
    }
    // The errors CSV, joined from the parts of every invocation: the header, then each bad row once, in order.
    const reported = await reportedRows(s3, stack.bucketName, result.errorsKey!);
    if (reported.length !== bad || reported.some((row, i) => row !== (i + 1) * BAD_EVERY)) {
      throw new Error(`the errors CSV does not list the ${bad} bad rows in order (it lists ${reported.length})`);
    }
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    const peakRssMb = Math.max(...invocations.map((i) => i.maxRssMb));
    const cpuSeconds = invocations.reduce((sum, i) => sum + i.cpuSeconds, 0);
    return {
      count: rows,
      unit: 'rows',
      seconds,
      perCore: false,
      details: {
        result,
        invocations: invocations.length,
        peakRssMb,
        perInvocation: invocations,
        importCpuMsPerRow: (cpuSeconds * 1000) / rows,
        stackProcessPeakRssMb: mb(stackPeak),
        timeoutSeconds: timeoutMs / 1000,
        rowsPerInvocation: rowsPerInvocation ?? null,
        subscriptions: SUBSCRIPTIONS,
      },
      note: `import peak RSS ${peakRssMb} MB, ${invocations.length} invocation${invocations.length === 1 ? '' : 's'}`,
    };
  } finally {
    s3.destroy();
    await stack.stop();
    if (dynamoEndpoint) {
      const dynamo = new DynamoDBClient({
        endpoint: dynamoEndpoint,
        region: stack.region,
        credentials: localCredentials,
      });
      await dynamo.send(new DeleteTableCommand({ TableName: stack.tableName })).finally(() => dynamo.destroy());
    }
  }
}

const benchmark: Benchmark = {
  description:
    'import a 1,000,000-row usage-events CSV through the import function (own processes) against a local stack',
  async run({ smoke }) {
    const timeoutSeconds = Number(process.env.BENCH_IMPORT_TIMEOUT_S ?? 0);
    return runCsvImport({
      rows: smoke ? SMOKE_ROWS : Number(process.env.BENCH_ROWS ?? FULL_ROWS),
      ...(smoke ? { rowsPerInvocation: SMOKE_ROWS_PER_INVOCATION } : {}),
      ...(timeoutSeconds > 0 ? { timeoutMs: timeoutSeconds * 1000 } : {}),
    });
  },
};

export default benchmark;
