// One Lambda function serves a group of routes (routeGroup in routes.ts): it hands each request to
// its route's own handler module, found by the route key API Gateway sends. In AWS it runs from
// the entry CDK writes for the group (infra/constructs/api.ts); the local HTTP API runs it too.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** Imports a route's handler module on its first request, as a function of its own would at cold start. */
export type HandlerModuleLoader = () => Promise<{ handler: ApiHandler }>;

/** The function of a group: `served` maps each of its route keys to that route's handler module. */
export function routeGroupHandler(served: Readonly<Record<string, HandlerModuleLoader>>): ApiHandler {
  const byRouteKey = new Map(Object.entries(served));
  const loaded = new Map<string, ReturnType<HandlerModuleLoader>>();
  return async (event, context) => {
    const load = byRouteKey.get(event.routeKey);
    // API Gateway sends a function only its own routes: anything else is a wiring mistake, never the caller's.
    if (!load) throw new Error(`this function does not serve ${event.routeKey}`);
    let module = loaded.get(event.routeKey);
    if (!module) {
      module = load();
      loaded.set(event.routeKey, module);
      module.catch(() => loaded.delete(event.routeKey));
    }
    const { handler } = await module;
    return handler(event, context);
  };
}
