// The local Lambda endpoint: the Invoke operation of the Lambda REST API
// (`POST /2015-03-31/functions/{name}/invocations`), so that a function invoking another (the
// import continuing a long file) uses an ordinary LambdaClient pointed here. An `Event`
// invocation is answered 202 at once and run after, as Lambda queues it.
import { randomUUID } from 'node:crypto';
import { PayloadTooLargeError, readBody, serveOnLoopback, type LoopbackServer } from './loopback-server';

/** Runs one invocation of a function the local stack knows; throws when the function fails. */
export type RunFunction = (functionName: string, event: unknown) => Promise<unknown>;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's limit for an asynchronous invocation's payload. */
const EVENT_PAYLOAD_LIMIT = 256 * 1024;

/** A function name, or its ARN (`arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]`). */
const nameOf = (raw: string): string => {
  const name = decodeURIComponent(raw);
  return name.startsWith('arn:') ? (name.split(':')[6] ?? '') : name;
};

/** `run` is expected to track the invocations it starts (the local stack waits for them when it stops). */
export function startLambdaServer(
  port: number,
  functions: ReadonlySet<string>,
  run: RunFunction,
): Promise<LoopbackServer> {
  return serveOnLoopback(port, async (req, res) => {
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const refuse = (status: number, type: string, message: string) =>
      reply(status, { Type: 'User', message }, { 'x-amzn-errortype': type });

    const match = INVOKE_PATH.exec((req.url ?? '').split('?')[0]!);
    if (req.method !== 'POST' || !match)
      return refuse(
        404,
        'UnknownOperationException',
        `the local Lambda endpoint serves Invoke only, not ${req.method} ${req.url}`,
      );
    const functionName = nameOf(match[1]!);
    if (!functions.has(functionName))
      return refuse(404, 'ResourceNotFoundException', `Function not found: ${functionName}`);
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    let event: unknown;
    try {
      const raw = await readBody(req, EVENT_PAYLOAD_LIMIT);
      event = raw.trim() === '' ? {} : JSON.parse(raw);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return refuse(413, 'RequestEntityTooLargeException', error.message);
      return refuse(400, 'InvalidRequestContentException', 'the payload is not JSON');
    }
    if (type === 'DryRun') return reply(204);
    if (type === 'Event') {
      // As the local S3 does for its notifications: a failed invocation is logged (Lambda would retry it).
      run(functionName, event).catch((error: unknown) =>
        console.error(`local Lambda: asynchronous invocation of ${functionName} failed:`, error),
      );
      return reply(202);
    }
    try {
      reply(200, (await run(functionName, event)) ?? null, { 'x-amz-executed-version': '$LATEST' });
    } catch (error) {
      reply(
        200,
        { errorType: (error as Error).name ?? 'Error', errorMessage: (error as Error).message ?? String(error) },
        { 'x-amz-function-error': 'Unhandled' },
      );
    }
  });
}
