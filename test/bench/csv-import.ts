// Benchmark: a usage-events CSV drop through the real import handler against a local stack
// (DynamoDB Local, the local S3). Workload: 1,000,000 rows (smoke: 1,000) over 50 subscriptions,
// one row in 100 bad, uploaded as a stream and read back as a stream. Reports rows/s (wall clock,
// parse to last write) and the peak RSS of this process, which runs the handler and the local S3;
// DynamoDB Local is a separate Java process. The Lambda time limit is lifted: this measures rate
// and memory, not how much fits in 15 minutes.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Upload } from '@aws-sdk/lib-storage';
import { startLocalStack } from '../../infra/local/stack';
import type { ImportResult } from '../../shared/domain/import-keys';
import { logger } from '../../shared/logger';
import { createS3Client, localCredentials } from '../../shared/store/clients';
import { call } from '../support/api';
import { aSubscription } from '../support/builders';
import { Bucket, objectCreated } from '../support/s3';
import type { Benchmark, Measurement } from './benchmark';

export const FULL_ROWS = 1_000_000;
export const SMOKE_ROWS = 1_000;
const SUBSCRIPTIONS = 50;
/** Every BAD_EVERY-th row has a quantity the API refuses. */
export const BAD_EVERY = 100;
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
}

export async function runCsvImport({ rows, dynamoEndpoint }: CsvImportRun): Promise<Measurement> {
  const run = randomUUID().slice(0, 8);
  // The benchmark delivers the notification itself, with the time limit lifted.
  const stack = await startLocalStack({ inMemory: true, importUploads: false, tableName: `bench-${run}`, ...(dynamoEndpoint ? { dynamoEndpoint } : {}) });
  const s3 = createS3Client({ AWS_REGION: stack.region, S3_ENDPOINT: stack.s3Endpoint });
  try {
    for (let s = 0; s < SUBSCRIPTIONS; s++) await call('PUT', `/v1/subscriptions/bench-${run}-${s}`, { body: aSubscription({ startDate: '2025-01-01' }) });
    const key = `usage-events/bench-${run}.csv`;
    const upload = new Upload({ client: s3, params: { Bucket: stack.bucketName, Key: key, Body: Readable.from(usageEventLines(rows, run)) } });
    const { ETag } = await upload.done();
    const { handler } = await import('../../functions/import/handler');

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await handler(objectCreated(stack.bucketName, key, (ETag ?? '').replace(/"/g, '')), { functionName: 'import', getRemainingTimeInMillis: () => 7 * 86_400_000 });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);

    const result = (await new Bucket(s3, stack.bucketName).result(key)) as ImportResult;
    const bad = Math.floor(rows / BAD_EVERY);
    if (result.accepted !== rows - bad || result.rejected !== bad || result.rows !== rows) {
      throw new Error(`the import did not land every row: ${JSON.stringify(result)}`);
    }
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    return {
      count: rows,
      unit: 'rows',
      seconds,
      perCore: false,
      details: {
        result,
        peakRssMb: mb(peak),
        rssBeforeImportMb: mb(before),
        processMaxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
        subscriptions: SUBSCRIPTIONS,
      },
      note: `peak RSS ${mb(peak)} MB, ${mb(before)} MB before the import`,
    };
  } finally {
    s3.destroy();
    await stack.stop();
    if (dynamoEndpoint) {
      const dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: stack.region, credentials: localCredentials });
      await dynamo.send(new DeleteTableCommand({ TableName: stack.tableName })).finally(() => dynamo.destroy());
    }
  }
}

const benchmark: Benchmark = {
  description: 'import a 1,000,000-row usage-events CSV through the import handler against a local stack',
  async run({ smoke }) {
    // The handler's per-file log lines would drown the figures.
    logger.setLogLevel((process.env.LOG_LEVEL as Parameters<typeof logger.setLogLevel>[0] | undefined) ?? 'WARN');
    return runCsvImport({ rows: smoke ? SMOKE_ROWS : FULL_ROWS });
  },
};

export default benchmark;
