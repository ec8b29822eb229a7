// The local HTTP API: the route table served as API Gateway would, each request turned into a
// payload v2 event for the function of the route's group, which hands it to the route's handler module.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { apiCors } from '../../functions/api/cors';
import { problem, type Problem } from '../../functions/api/http-handler';
import { logger } from '../../shared/logger';
import { apiGatewayEvent } from './api-gateway-event';
import { invokeRoute } from './api-functions';
import { PayloadTooLargeError, readBody, serveOnLoopback, type LoopbackServer } from './loopback-server';
import { allowedMethods, matchRoute } from './route-matcher';

/** API Gateway's payload quota. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface HttpApiOptions {
  /** Origins whose browsers may call the API (the dashboard's), asked per request: it may start later. */
  allowOrigins?: () => readonly string[];
}

export function startHttpApi(port: number, options: HttpApiOptions = {}): Promise<LoopbackServer> {
  return serveOnLoopback(port, async (req, res) => {
    const method = req.method ?? 'GET';
    // As API Gateway with CORS configured: it answers preflights itself (no route, no auth) and adds
    // the CORS headers to every answer for an allowed origin.
    const origin = req.headers.origin;
    const allowed = origin !== undefined && (options.allowOrigins?.() ?? []).includes(origin);
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', apiCors.exposeHeaders.join(','));
      res.setHeader('vary', 'origin');
    }
    if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
      if (allowed) {
        res.setHeader('access-control-allow-methods', apiCors.allowMethods.join(','));
        res.setHeader('access-control-allow-headers', apiCors.allowHeaders.join(','));
        res.setHeader('access-control-max-age', String(apiCors.maxAgeSeconds));
      }
      res.writeHead(204);
      return void res.end();
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const rawPath = query < 0 ? url : url.slice(0, query);
    const rawQueryString = query < 0 ? '' : url.slice(query + 1);

    const match = matchRoute(method, rawPath);
    if (!match) {
      const allowed = allowedMethods(rawPath);
      if (allowed.length === 0) return sendProblem(res, problem('NOT_FOUND', `No route serves ${rawPath}`));
      return sendProblem(res, problem('METHOD_NOT_ALLOWED', `${method} is not allowed on ${rawPath}`), {
        allow: allowed.join(', '),
      });
    }

    let body: string;
    try {
      body = await readBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof PayloadTooLargeError) return sendProblem(res, problem('PAYLOAD_TOO_LARGE', err.message));
      throw err;
    }
    const event = apiGatewayEvent({
      method,
      routePath: match.route.path,
      rawPath,
      rawQueryString,
      headers: requestHeaders(req),
      body: body === '' ? undefined : body,
      pathParameters: match.params,
    });
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await invokeRoute(match.route, event);
    } catch (error) {
      // httpHandler answers every error itself; a throw here is a handler outside that wrapper.
      logger.error('handler threw', { route: event.routeKey, error: error as Error });
      return sendProblem(res, problem('INTERNAL', 'The handler failed', [], event.requestContext.requestId));
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
    if (result.cookies?.length) headers['set-cookie'] = result.cookies;
    res.writeHead(result.statusCode ?? 200, headers);
    res.end(result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? ''));
  });
}

/** API Gateway joins repeated headers with commas. */
function requestHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function sendProblem(res: ServerResponse, body: Problem, headers: Record<string, string> = {}): void {
  res.writeHead(body.status, { 'content-type': 'application/problem+json', ...headers });
  res.end(JSON.stringify(body));
}
