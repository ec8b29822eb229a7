// Pages live after the '#': `#/batches/<id>?tab=…`. Every page has a URL that can be shared, and
// any static host serves the one index.html (no rewrites on S3 or CloudFront).
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Path segments, decoded: `#/batches/b-1/review` → ['batches', 'b-1', 'review']. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(at < 0 ? '' : raw.slice(at + 1)),
  };
}

/** `href(['batches', id], { tab: 'log' })` → `#/batches/<id>?tab=log`; empty values are left out. */
export function href(parts: readonly string[], query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${s ? `?${s}` : ''}`;
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
