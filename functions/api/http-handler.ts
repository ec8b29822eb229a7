// The one wrapper every API handler uses: parse and validate input with zod, find the actor,
// call the handler, and turn any failure into application/problem+json with a stable code.
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { createHash } from 'node:crypto';
import { DomainError, errorStatus, type ErrorCode, type FieldRefusal } from '../../shared/domain/errors';
import { claimKey, completeKey, releaseKey } from '../../shared/store/idempotency';
import { logger } from '../../shared/logger';
import '../../shared/domain/validation-messages';
import { ActorHeader, IdempotencyKey, type Contract } from './contract';
import { controlCharacterAt, repeatedKeyPath } from './strict-json';

export interface HttpRequest<P, Q, B> {
  path: P;
  query: Q;
  body: B;
  actor: string;
  headers: Record<string, string>;
  requestId: string;
  /** Raw body text, for idempotency fingerprints. */
  rawBody: string;
}

export interface HttpResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const ok = (body: unknown): HttpResult => ({ status: 200, body });
export const created = (body: unknown): HttpResult => ({ status: 201, body });
export const accepted = (body: unknown): HttpResult => ({ status: 202, body });

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** A route's handler, carrying the contract it keeps (the OpenAPI document is generated from it). */
export type ContractHandler = Handler & { contract: Contract };

/** Largest JSON body we read; API Gateway allows 10 MB but no route needs more than this. */
const MAX_BODY_BYTES = 1_048_576;

export function httpHandler<
  P extends z.ZodType = z.ZodUnknown,
  Q extends z.ZodType = z.ZodUnknown,
  B extends z.ZodType = z.ZodUnknown,
  H extends z.ZodType = z.ZodUnknown,
>(
  schemas: Contract<P, Q, B, H>,
  handle: (req: HttpRequest<z.output<P>, z.output<Q>, z.output<B>>) => Promise<HttpResult>,
): ContractHandler {
  const base = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const headers = lowerCaseHeaders(event.headers);
    const rawBody = readBody(event);
    const issues: FieldRefusal[] = [];
    const path = validate('path', schemas.path, event.pathParameters ?? {}, issues);
    const query = validate('query', schemas.query, event.queryStringParameters ?? {}, issues);
    if (schemas.headers) validate('headers', schemas.headers, headers, issues);
    let body: unknown;
    if (schemas.body) {
      body = validate('body', schemas.body, parseJson(rawBody, headers), issues);
    } else if (rawBody.trim() !== '') {
      // A route that reads no body still refuses a malformed one: the sender meant something.
      parseJson(rawBody, headers);
    }
    if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The request is not valid', issues);
    const actor = actorOf(event, headers);
    const run = async () =>
      toResponse(
        await handle({
          path: path as z.output<P>,
          query: query as z.output<Q>,
          body: body as z.output<B>,
          actor,
          headers,
          requestId: context.awsRequestId,
          rawBody,
        }),
      );
    const key = headers['idempotency-key'];
    const method = event.requestContext.http.method;
    return key !== undefined && (method === 'POST' || method === 'PUT')
      ? idempotent(key, actor, method, event.rawPath, rawBody, remainingMs(context), run)
      : run();
  };
  const handler = middy(base).onError(async (request) => {
    request.response = problemResponse(request.error, request.context.awsRequestId, request.event);
  }) as unknown as Handler;
  return Object.assign(handler, { contract: schemas as Contract });
}

/**
 * Runs a request once per Idempotency-Key (scoped to the caller): the same key and request get
 * the first answer again; the same key on another request is IDEMPOTENCY_KEY_REUSED. Only
 * successful answers are kept, so a refused request may be corrected and retried with its key.
 */
async function idempotent(
  key: string,
  actor: string,
  method: string,
  path: string,
  rawBody: string,
  remaining: number,
  run: () => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (!IdempotencyKey.safeParse(key).success) {
    throw new DomainError('VALIDATION_FAILED', 'Idempotency-Key must be 1-255 visible ASCII characters', [
      { path: 'headers.idempotency-key', code: 'VALIDATION_FAILED', message: 'invalid Idempotency-Key' },
    ]);
  }
  const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
  const recordKey = digest(`${actor}\n${key}`);
  const fingerprint = digest(`${method}\n${path}\n${canonicalJson(rawBody)}`);
  const claim = await claimKey(recordKey, fingerprint, Date.now(), remaining);
  if (claim.outcome === 'reused') {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request');
  }
  if (claim.outcome === 'in-progress') {
    throw new DomainError('CONFLICT', 'A request with this Idempotency-Key is still in progress; retry shortly');
  }
  if (claim.outcome === 'replay') {
    return {
      statusCode: claim.response.status,
      headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
      body: claim.response.body,
    };
  }
  let response: APIGatewayProxyStructuredResultV2;
  try {
    response = await run();
  } catch (err) {
    await releaseKey(recordKey);
    throw err;
  }
  await completeKey(recordKey, { status: response.statusCode ?? 200, body: response.body ?? '' });
  return response;
}

/** The invocation's remaining time: after it, an unfinished claim belongs to no running attempt. */
const remainingMs = (context: Context): number => context?.getRemainingTimeInMillis?.() ?? 30_000;

/** Key order and spacing do not make a different request. */
function canonicalJson(raw: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(raw.replace(/^\uFEFF/, ''))));
  } catch {
    return raw;
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function validate(where: string, schema: z.ZodType | undefined, input: unknown, issues: FieldRefusal[]): unknown {
  if (!schema) return input;
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    issues.push({
      path: [where, ...issue.path.map(String)].join('.'),
      code: 'VALIDATION_FAILED',
      message: issue.message,
    });
  }
  return undefined;
}

function readBody(event: APIGatewayProxyEventV2): string {
  if (!event.body) return '';
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new DomainError('PAYLOAD_TOO_LARGE', `The body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  return text;
}

function parseJson(raw: string, headers: Record<string, string>): unknown {
  const type = headers['content-type'];
  if (type && !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json, not ${type}`);
  }
  if (raw.trim() === '')
    throw new DomainError('VALIDATION_FAILED', 'The request needs a JSON body', [
      { path: 'body', code: 'VALIDATION_FAILED', message: 'body is empty' },
    ]);
  // A BOM is legal at the start of a JSON text sent by some clients; JSON.parse rejects it.
  const text = raw.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DomainError('VALIDATION_FAILED', 'The body is not valid JSON', [
      { path: 'body', code: 'VALIDATION_FAILED', message: (err as Error).message },
    ]);
  }
  const repeated = repeatedKeyPath(text);
  if (repeated) {
    throw new DomainError('VALIDATION_FAILED', 'The body gives a key twice in one object', [
      { path: repeated, code: 'VALIDATION_FAILED', message: 'this key is given twice in its object; send it once' },
    ]);
  }
  const control = controlCharacterAt(value);
  if (control) {
    throw new DomainError('VALIDATION_FAILED', 'The body holds a control character', [
      {
        path: control.path,
        code: 'VALIDATION_FAILED',
        message: `contains the control character ${control.codePoint}; text may hold tab, CR and LF but no other control character`,
      },
    ]);
  }
  return value;
}

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/**
 * IAM principal in AWS; the X-Actor header only where no IAM identity exists (the local stack).
 * Dashboard operators share one role, whose session name is the same for all: the user pool user
 * that API Gateway reports for the Cognito identity (`…:CognitoSignIn:<sub>`) is added to it.
 */
function actorOf(event: APIGatewayProxyEventV2, headers: Record<string, string>): string {
  const iam = (
    event.requestContext as { authorizer?: { iam?: { userArn?: string; cognitoIdentity?: { amr?: string[] } } } }
  ).authorizer?.iam;
  const signIn = iam?.cognitoIdentity?.amr
    ?.map((a) => /^cognito-idp\.[^/]+\/([^:]+):CognitoSignIn:([\w-]+)$/.exec(a))
    .find((m) => m);
  if (iam?.userArn && signIn) return `${iam.userArn} (user ${signIn[2]} of ${signIn[1]})`;
  if (iam?.userArn) return iam.userArn;
  const actor = headers['x-actor'];
  if (actor === undefined || actor === '') return 'anonymous';
  const parsed = ActorHeader.safeParse(actor);
  if (!parsed.success) {
    const message = `X-Actor is ${actor.length} characters; at most ${ActorHeader.maxLength} are allowed (it is recorded as sent, never cut)`;
    throw new DomainError('VALIDATION_FAILED', message, [
      { path: 'headers.x-actor', code: 'VALIDATION_FAILED', message },
    ]);
  }
  return actor;
}

function toResponse(result: HttpResult): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: result.status,
    headers: { 'content-type': 'application/json', ...result.headers },
    body: result.body === undefined ? '' : JSON.stringify(result.body),
  };
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: FieldRefusal[];
  requestId?: string;
}

export function problem(code: ErrorCode, detail: string, issues: FieldRefusal[] = [], requestId?: string): Problem {
  return {
    type: `urn:usage-corrections:problem:${code}`,
    title: code.toLowerCase().replace(/_/g, ' '),
    status: errorStatus[code],
    code,
    detail,
    ...(issues.length > 0 ? { errors: issues } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

function problemResponse(
  error: unknown,
  requestId: string,
  event: APIGatewayProxyEventV2,
): APIGatewayProxyStructuredResultV2 {
  let body: Problem;
  if (error instanceof DomainError) {
    body = problem(error.code, error.message, error.issues, requestId);
  } else {
    // Unknown failures never leak a stack trace; the request id finds it in the logs.
    logger.error('unhandled error', { requestId, route: event.routeKey, error: error as Error });
    body = problem('INTERNAL', 'An unexpected error occurred; quote the request id when reporting it', [], requestId);
  }
  return {
    statusCode: body.status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify(body),
  };
}
