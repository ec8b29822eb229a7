// Calls a route in-process with a real API Gateway v2 event, through its group's function, as the local server does,
// and checks the exchange against docs/openapi.json (test/support/contract.ts).
import { apiGatewayEvent } from '../../infra/local/api-gateway-event';
import { invokeRoute } from '../../infra/local/api-functions';
import { matchRoute } from '../../infra/local/route-matcher';
import { checkContract } from './contract';

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  actor?: string;
}

/** `call('POST', '/v1/batches', { body })`: routes through the route table and its group's function to the real handler. */
export async function call<T = any>(method: string, url: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const [rawPath = '', rawQueryString] = url.split('?');
  const match = matchRoute(method, rawPath);
  if (!match) throw new Error(`no route for ${method} ${rawPath}`);
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const event = apiGatewayEvent({
    method,
    routePath: match.route.path,
    rawPath,
    rawQueryString,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.actor ? { 'x-actor': options.actor } : { 'x-actor': 'test-user' }),
      ...options.headers,
    },
    body,
    pathParameters: match.params,
  });
  const res = await invokeRoute(match.route, event);
  const text = res.body ?? '';
  const headers = (res.headers ?? {}) as Record<string, string>;
  // Every call is a contract check: what the handler answered must be what the document says.
  checkContract({
    method,
    routePath: match.route.path,
    request: {
      pathParameters: match.params,
      query: event.queryStringParameters as Record<string, string> | undefined,
      headers: event.headers as Record<string, string>,
      body,
    },
    response: { status: res.statusCode ?? 200, contentType: headers['content-type'], body: text },
  });
  return {
    status: res.statusCode ?? 200,
    headers,
    body: text ? JSON.parse(text) : undefined,
  };
}
