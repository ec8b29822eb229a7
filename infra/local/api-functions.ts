// The API's Lambda functions as AWS deploys them: one per route group, each the group's dispatcher
// (functions/api/route-group.ts) over its routes' handler modules, here imported from disk.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { routeGroupHandler, type ApiHandler, type HandlerModuleLoader } from '../../functions/api/route-group';
import { routeGroup, routeGroups, routeKey, routes, type Route } from '../../functions/api/routes';
import { invokeFunction, loadHandlerModule, type Handler } from './lambda';

const functions = new Map<string, ApiHandler>(
  [...routeGroups(routes)].map(([group, served]) => [
    group,
    routeGroupHandler(
      Object.fromEntries(served.map((r) => [routeKey(r), (() => loadHandlerModule(r.handler)) as HandlerModuleLoader])),
    ),
  ]),
);

/** The function name of a group, locally: `api-batches-read`. */
export const apiFunctionName = (group: string) => `api-${group}`;

/** Invokes the function of the route's group with an API Gateway event for that route. */
export async function invokeRoute(
  route: Route,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const group = routeGroup(route);
  const fn = functions.get(group);
  if (!fn) throw new Error(`${routeKey(route)} is not in the route table`);
  return (await invokeFunction(apiFunctionName(group), fn as Handler, event)) as APIGatewayProxyStructuredResultV2;
}
