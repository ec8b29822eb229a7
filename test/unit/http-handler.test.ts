import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiGatewayEvent, lambdaContext } from '../../infra/local/api-gateway-event';
import { created, httpHandler } from '../../functions/api/http-handler';
import { DomainError } from '../../shared/domain/errors';

const handler = httpHandler(
  {
    summary: 'a route for the test',
    responses: { 201: z.object({ id: z.string(), amount: z.string(), actor: z.string() }) },
    path: z.object({ id: z.string().min(1) }),
    body: z.object({ amount: z.string().regex(/^\d+$/) }),
  },
  async ({ path, body, actor }) => {
    if (body.amount === '13') throw new DomainError('CRITERIA_TOO_BROAD', 'unlucky');
    return created({ id: path.id, amount: body.amount, actor });
  },
);

async function send(
  body: string | undefined,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const event = apiGatewayEvent({
    method: 'POST',
    routePath: '/x/{id}',
    rawPath: '/x/a',
    body,
    headers,
    pathParameters: { id: 'a' },
  });
  const res = await handler(event, lambdaContext('t'));
  return { ...res, json: JSON.parse(res.body ?? 'null') };
}

describe('httpHandler', () => {
  it('passes validated input and the X-Actor to the handler', async () => {
    const res = await send('{"amount":"5"}', { 'content-type': 'application/json', 'x-actor': 'alice' });
    expect(res.statusCode).toBe(201);
    expect(res.json).toEqual({ id: 'a', amount: '5', actor: 'alice' });
  });

  it('accepts a JSON body that starts with a byte order mark', async () => {
    expect((await send('\uFEFF{"amount":"5"}')).statusCode).toBe(201);
  });

  it.each([
    ['malformed JSON', '{"amount":', 400, 'VALIDATION_FAILED'],
    ['an empty body', '', 400, 'VALIDATION_FAILED'],
    ['a wrong type', '{"amount":5}', 400, 'VALIDATION_FAILED'],
    ['a domain error', '{"amount":"13"}', 422, 'CRITERIA_TOO_BROAD'],
  ])('answers problem+json for %s', async (_name, body, status, code) => {
    const res = await send(body);
    expect(res.statusCode).toBe(status);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    expect(res.json).toMatchObject({ status, code, type: `urn:usage-corrections:problem:${code}` });
  });

  it.each([
    ['a key given twice', '{"amount":"5","amount":"6"}', 'body.amount'],
    ['a nested key given twice', '{"amount":"5","x":[{"a":1},{"a":1,"b":{"c":1,"c":2}}]}', 'body.x.1.b.c'],
    ['an escaped NUL in a value', '{"amount":"5\\u0000"}', 'body.amount'],
    ['a control character in a nested text', '{"amount":"5","note":{"t":["ok","a\\u001Bb"]}}', 'body.note.t.1'],
  ])('refuses %s with VALIDATION_FAILED naming where', async (_name, body, path) => {
    const res = await send(body);
    expect([res.statusCode, res.json.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(res.json.errors[0].path).toBe(path);
  });

  it('keeps tab, CR and LF in text and a key repeated in different objects', async () => {
    expect((await send('{"amount":"5","n":"a\\tb\\r\\nc","o":[{"k":1},{"k":2}]}')).statusCode).toBe(201);
  });

  it('refuses a malformed body on a route that reads none', async () => {
    const bodyless = httpHandler({ summary: 'no body', responses: { 202: z.object({}) } }, async () => ({
      status: 202,
      body: {},
    }));
    const event = (body: string) =>
      apiGatewayEvent({
        method: 'POST',
        routePath: '/y',
        rawPath: '/y',
        body,
        headers: { 'content-type': 'application/json' },
      });
    const bad = await bodyless(event('{"oops":'), lambdaContext('t'));
    expect([bad.statusCode, JSON.parse(bad.body ?? '{}').code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await bodyless(event('{}'), lambdaContext('t'))).statusCode).toBe(202);
  });

  it('names the failing field in errors[]', async () => {
    const res = await send('{"amount":"x1"}');
    expect(res.json.errors).toEqual([expect.objectContaining({ path: 'body.amount', code: 'VALIDATION_FAILED' })]);
  });

  it('refuses a body that is not JSON by content type', async () => {
    const res = await send('amount=5', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.statusCode).toBe(415);
    expect(res.json.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('prefers the IAM principal over an X-Actor header', async () => {
    const event = apiGatewayEvent({
      method: 'POST',
      routePath: '/x/{id}',
      rawPath: '/x/a',
      body: '{"amount":"1"}',
      headers: { 'x-actor': 'mallory' },
      pathParameters: { id: 'a' },
    });
    (event.requestContext as any).authorizer = { iam: { userArn: 'arn:aws:iam::1:user/bob' } };
    const res = await handler(event, lambdaContext('t'));
    expect(JSON.parse(res.body!).actor).toBe('arn:aws:iam::1:user/bob');
  });

  it('names the signed-in dashboard operator behind the shared Cognito role', async () => {
    const event = apiGatewayEvent({
      method: 'POST',
      routePath: '/x/{id}',
      rawPath: '/x/a',
      body: '{"amount":"1"}',
      headers: { 'x-actor': 'mallory' },
      pathParameters: { id: 'a' },
    });
    const userArn = 'arn:aws:sts::1:assumed-role/UsageCorrections-DashboardOperatorRole/CognitoIdentityCredentials';
    const pool = 'cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123';
    (event.requestContext as any).authorizer = {
      iam: {
        userArn,
        cognitoIdentity: {
          amr: ['authenticated', pool, `${pool}:CognitoSignIn:0f1e2d3c-aaaa-4bbb-8ccc-123456789abc`],
          identityId: 'eu-west-1:x',
          identityPoolId: 'eu-west-1:p',
        },
      },
    };
    const res = await handler(event, lambdaContext('t'));
    expect(JSON.parse(res.body!).actor).toBe(
      `${userArn} (user 0f1e2d3c-aaaa-4bbb-8ccc-123456789abc of eu-west-1_AbC123)`,
    );
  });
});
