import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  type DescribeExecutionOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { invocationTally } from '../../infra/local/lambda';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { createS3Client, createSfnClient, localCredentials } from '../../shared/store/clients';
import { eventually } from '../support/eventually';
import { checkContract } from '../support/contract';

/** A GET over real HTTP, checked against docs/openapi.json as every call() is. */
async function getChecked(routePath: string, path = routePath) {
  const res = await fetch(`${stack.apiUrl}${path}`);
  const text = await res.text();
  checkContract({
    method: 'GET',
    routePath,
    request: {},
    response: { status: res.status, contentType: res.headers.get('content-type') ?? undefined, body: text },
  });
  return { status: res.status, body: JSON.parse(text) as any };
}

const workflows = {
  items: { definition: 'test/fixtures/workflow/items.asl.json', tasks: ['ListItems', 'ProcessItem'] },
  wait: { definition: 'test/fixtures/workflow/wait.asl.json', tasks: [] },
};
const taskFunctions = {
  ListItems: { handler: 'test/fixtures/workflow/list-items.ts' },
  ProcessItem: { handler: 'test/fixtures/workflow/process-item.ts' },
};

let stack: LocalStack;
let s3: S3Client;
let sfn: SFNClient;

beforeAll(async () => {
  stack = await startLocalStack({
    inMemory: true,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `e2e-${randomUUID().slice(0, 8)}`,
    workflows,
    taskFunctions,
  });
  s3 = createS3Client({ AWS_REGION: stack.region, S3_ENDPOINT: stack.s3Endpoint });
  sfn = createSfnClient({ AWS_REGION: stack.region, SFN_ENDPOINT: stack.sfnEndpoint });
});

afterAll(async () => {
  s3?.destroy();
  sfn?.destroy();
  await stack?.stop();
  const dynamo = new DynamoDBClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    credentials: localCredentials,
  });
  await dynamo.send(new DeleteTableCommand({ TableName: stack.tableName })).finally(() => dynamo.destroy());
});

describe('local HTTP API', () => {
  it('serves the route table over real HTTP', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ status: 'ok', table: { latencyMs: expect.any(Number) } });
    expect((await getChecked('/v1/health')).status).toBe(200);
  });

  it('serves its OpenAPI document and the lookups, each as the document describes it', async () => {
    const doc = await getChecked('/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({ openapi: '3.1.0', info: { title: 'usage-corrections API' } });
    expect(Object.keys(doc.body.paths)).toContain('/v1/batches/{batchId}/submit');
    const lookups = await getChecked('/v1/lookups');
    expect(lookups.body.errorCodes).toContainEqual(
      expect.objectContaining({ code: 'EVENT_HELD_BY_OTHER_BATCH', status: 409 }),
    );
  });

  it("invokes the function of the route's group, as API Gateway invokes the group's Lambda", async () => {
    const before = invocationTally.get('api-health-read')?.count ?? 0;
    expect((await fetch(`${stack.apiUrl}/v1/health`)).status).toBe(200);
    expect(invocationTally.get('api-health-read')?.count).toBe(before + 1);
  });

  it('answers an unknown path with 404 problem+json', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/no-such-thing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('answers a method the path does not serve with 405 problem+json naming the allowed ones', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/health`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('allow')).toBe('GET');
    expect(await res.json()).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
  });
});

describe('local S3', () => {
  it('hands an uploaded file to the import handler, which reports a file no importer serves under results/', async () => {
    // A '+' and a space survive only if the event encodes the key as S3 does and the handler decodes it.
    const key = `batches/b-${randomUUID().slice(0, 8)}/notes/odd name+1.csv`;
    await s3.send(new PutObjectCommand({ Bucket: stack.bucketName, Key: key, Body: 'event_id\ne-1\n' }));

    const report = await eventually(`results/${key}.json`, async () => {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: stack.bucketName, Key: `results/${key}.json` }));
        return JSON.parse(await res.Body!.transformToString()) as unknown;
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    });
    expect(report).toEqual({
      status: 'FAILED',
      rows: 0,
      accepted: 0,
      rejected: 0,
      error: { code: 'VALIDATION_FAILED', message: expect.stringContaining('no importer for this key') },
    });
  });
});

describe('local Step Functions', () => {
  const finished = (executionArn: string) =>
    eventually(`${executionArn} to finish`, async () => {
      const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status === 'RUNNING' ? undefined : d;
    });

  it('runs a workflow through a Map with retries to SUCCEEDED, and reports it as AWS does', async () => {
    const stateMachineArn = stack.stateMachineArns.items!;
    const name = `items-${randomUUID().slice(0, 8)}`;
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ count: 3 }) }),
    );
    expect(started.executionArn).toBe(`${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`);
    expect(started.startDate).toBeInstanceOf(Date);

    const done: DescribeExecutionOutput = await finished(started.executionArn!);
    expect(done).toMatchObject({ status: 'SUCCEEDED', name, stateMachineArn });
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    // Each item's first attempt failed with TransientError; the Retry ran it again.
    expect(JSON.parse(done.output!).results).toEqual([
      { item: 'item-1', attempts: 2 },
      { item: 'item-2', attempts: 2 },
      { item: 'item-3', attempts: 2 },
    ]);

    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn! }));
    const types = events.map((e: HistoryEvent) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e, i) => e.timestamp! >= (events[i - 1]?.timestamp ?? e.timestamp!))).toBe(true);
    expect(types.filter((t) => t === 'MapIterationSucceeded')).toHaveLength(3);
    const failures = events.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(failures.map((e) => e.lambdaFunctionFailedEventDetails?.error)).toEqual([
      'TransientError',
      'TransientError',
      'TransientError',
    ]);
    expect(JSON.parse(failures[0]!.lambdaFunctionFailedEventDetails!.cause!)).toMatchObject({
      errorType: 'TransientError',
    });
    const scheduled = events.filter((e) => e.type === 'LambdaFunctionScheduled');
    expect(scheduled).toHaveLength(1 + 3 * 2);
    expect(scheduled[0]!.lambdaFunctionScheduledEventDetails!.resource).toBe(
      `arn:aws:lambda:${stack.region}:000000000000:function:ListItems`,
    );

    const succeeded = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'SUCCEEDED' }));
    expect(succeeded.executions?.map((e) => e.executionArn)).toContain(started.executionArn);
    const running = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }));
    expect(running.executions?.map((e) => e.executionArn)).not.toContain(started.executionArn);

    // A finished execution's name is taken, whatever the input (AWS keeps it 90 days).
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify({ count: 3 }) })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('starts an execution once for the same name and input, refuses another input, and stops it', async () => {
    const stateMachineArn = stack.stateMachineArns.wait!;
    const name = `wait-${randomUUID().slice(0, 8)}`;
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"n":1}' }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"n":1}' }));
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate).toEqual(first.startDate);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{"n":2}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING' }));
    expect(listed.executions?.map((e) => e.executionArn)).toEqual([first.executionArn]);

    const stopped = await sfn.send(
      new StopExecutionCommand({ executionArn: first.executionArn!, error: 'Test.Stopped', cause: 'enough' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn! }));
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Test.Stopped', cause: 'enough' });
    const { events = [] } = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: first.executionArn!, reverseOrder: true }),
    );
    expect(events[0]).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Test.Stopped', cause: 'enough' },
    });
  });

  it('refuses a state machine it does not run with the AWS error', async () => {
    const stateMachineArn = `arn:aws:states:${stack.region}:000000000000:stateMachine:no-such-workflow`;
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn }))).rejects.toBeInstanceOf(
      StateMachineDoesNotExist,
    );
  });
});
