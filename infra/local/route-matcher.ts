// Matches a request to the route table the way API Gateway does: literal segments beat parameters.
import { routes, type HttpMethod, type Route } from '../../functions/api/routes';

interface Compiled {
  route: Route;
  segments: string[];
}

const compiled: Compiled[] = routes.map((route) => ({ route, segments: route.path.split('/').filter(Boolean) }));

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** The route serving this method and path, if any. */
export const matchRoute = (method: string, rawPath: string): RouteMatch | undefined => findRoute(method, rawPath);

/** The methods that serve the path: when some do, the local server answers 405 (with Allow), not 404. */
export function allowedMethods(rawPath: string): HttpMethod[] {
  const parts = split(rawPath);
  return [
    ...new Set(compiled.filter((c) => matchSegments(c.segments, parts) !== undefined).map((c) => c.route.method)),
  ];
}

function findRoute(method: string, rawPath: string): RouteMatch | undefined {
  const parts = split(rawPath);
  let best: { match: RouteMatch; literals: number } | undefined;
  for (const c of compiled) {
    if (c.route.method !== method) continue;
    const params = matchSegments(c.segments, parts);
    if (!params) continue;
    const literals = c.segments.filter((s) => !s.startsWith('{')).length;
    if (!best || literals > best.literals) best = { match: { route: c.route, params }, literals };
  }
  return best?.match;
}

function split(rawPath: string): string[] {
  return rawPath.split('/').filter(Boolean);
}

function matchSegments(segments: string[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const part = parts[i]!;
    if (seg.startsWith('{') && seg.endsWith('}')) {
      try {
        params[seg.slice(1, -1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (seg !== part) return undefined;
  }
  return params;
}
