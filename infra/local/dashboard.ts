// The dashboard, locally: built by Vite from dashboard/ and served from an origin of its own on
// 127.0.0.1, as CloudFront serves it in AWS, with the configuration it reads at start (config.json).
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { DashboardConfig } from '../../dashboard/src/config';
import { dashboardCsp } from '../dashboard-headers';
import { localDir, projectRoot } from './dynamodb-local';
import { serveOnLoopback, type LoopbackServer } from './loopback-server';

export const dashboardSource = join(projectRoot, 'dashboard');
export const dashboardBuild = join(localDir, 'dashboard');

/** Builds the dashboard into `outDir` (about a second): `npm start`, the browser test and the screenshots serve what it writes. */
export async function buildDashboard(outDir: string = dashboardBuild): Promise<string> {
  const { build } = await import('vite');
  await build({
    configFile: join(dashboardSource, 'vite.config.ts'),
    root: dashboardSource,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface DashboardServerOptions {
  port: number;
  /** The built files (buildDashboard). */
  directory: string;
  /** Asked per request: the API starts after the dashboard, whose origin it must know. */
  config(): DashboardConfig;
  /** Origins the page may call besides its own (the API, the S3 endpoint). */
  connectSources(): readonly string[];
}

export function serveDashboard(options: DashboardServerOptions): Promise<LoopbackServer> {
  const root = normalize(options.directory);
  return serveOnLoopback(options.port, async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://local').pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return void res.end();
    }
    const headers = {
      'content-security-policy': dashboardCsp(options.connectSources()),
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    if (path === '/config.json') {
      res.writeHead(200, { ...headers, 'content-type': contentTypes['.json']!, 'cache-control': 'no-store' });
      return void res.end(JSON.stringify(options.config()));
    }
    // Routes live after the '#', so every page is index.html; anything else is a built file or 404.
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root + sep)) {
      res.writeHead(404, headers);
      return void res.end();
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      return void res.end('not found');
    }
    // Vite names assets by content hash: they never change under their name.
    const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    res.writeHead(200, {
      ...headers,
      'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'cache-control': cache,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
}
