// The local Step Functions endpoint: the AWS JSON 1.0 protocol the SDK speaks (POST /,
// `X-Amz-Target: AWSStepFunctions.<Operation>`, epoch-second timestamps, errors by `__type`),
// so an ordinary SFNClient pointed here works unchanged.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Executions, ServiceError } from './executions';
import { PayloadTooLargeError, readBody, serveOnLoopback, type LoopbackServer } from './loopback-server';

const arn = z.string().min(1);
const pageSize = z.number().int().min(0).max(1000).optional();
const token = z.string().min(1).optional();

const operations = {
  StartExecution: z.object({ stateMachineArn: arn, name: z.string().optional(), input: z.string().optional() }),
  DescribeExecution: z.object({ executionArn: arn }),
  ListExecutions: z.object({
    stateMachineArn: arn,
    statusFilter: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']).optional(),
    maxResults: pageSize,
    nextToken: token,
  }),
  GetExecutionHistory: z.object({
    executionArn: arn,
    maxResults: pageSize,
    reverseOrder: z.boolean().optional(),
    nextToken: token,
  }),
  StopExecution: z.object({ executionArn: arn, error: z.string().optional(), cause: z.string().optional() }),
  ListStateMachines: z.object({}),
};

type Operation = keyof typeof operations;

function perform(executions: Executions, operation: Operation, body: unknown): unknown {
  switch (operation) {
    case 'StartExecution':
      return executions.start(parse(operations.StartExecution, body));
    case 'DescribeExecution':
      return executions.describe(parse(operations.DescribeExecution, body));
    case 'ListExecutions':
      return executions.list(parse(operations.ListExecutions, body));
    case 'GetExecutionHistory':
      return executions.history(parse(operations.GetExecutionHistory, body));
    case 'StopExecution':
      return executions.stop(parse(operations.StopExecution, body));
    case 'ListStateMachines':
      return executions.listStateMachines();
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `'${i.path.join('.')}': ${i.message}`);
  throw new ServiceError(
    'ValidationException',
    `${problems.length} validation error(s) detected: ${problems.join('; ')}`,
  );
}

/** The SDK reads timestamps of this protocol as epoch seconds. */
function toWire(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });
}

export function startStepFunctionsServer(port: number, executions: Executions): Promise<LoopbackServer> {
  return serveOnLoopback(port, async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
      res.end(toWire(body));
    };
    const refuse = (status: number, type: string, message: string) =>
      reply(status, { __type: `com.amazonaws.sfn#${type}`, message });

    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    if (req.method !== 'POST' || !Object.hasOwn(operations, operation)) {
      return refuse(400, 'UnknownOperationException', `Unknown operation ${target || '(no X-Amz-Target)'}`);
    }
    let body: unknown;
    try {
      const raw = await readBody(req, 1024 * 1024);
      body = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch (error) {
      const message = error instanceof PayloadTooLargeError ? error.message : 'the request body is not JSON';
      return refuse(400, 'SerializationException', message);
    }
    try {
      reply(200, await perform(executions, operation as Operation, body));
    } catch (error) {
      if (error instanceof ServiceError) return refuse(400, error.type, error.message);
      console.error(`local Step Functions ${operation} failed`, error);
      return refuse(500, 'InternalFailure', (error as Error).message);
    }
  });
}
