// The dashboard's static files (built by `npm run build` into dist/web): GET / is the page, GET
// /assets/{file} its hashed bundles. Every file is read once at start-up into a table keyed by
// its URL path, and only exact keys are served, so no request path ever reaches the file system
// (no traversal by construction).
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemplatedApp } from 'uWebSockets.js';
import type { Logger } from '../infra/log.js';
import { ApiError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';

/** dist/web: next to dist/src where this module runs from when built, under dist/ when run from source (tests). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL(import.meta.url.includes('/dist/src/') ? '../../web/' : '../../dist/web/', import.meta.url));
export const ASSETS_PATH = '/assets';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// The page names its bundles by content hash: they never change; the page itself (1 KiB) is fetched each time.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-store';

interface StaticFile {
  body: Uint8Array;
  headers: Record<string, string>;
}

/** The files of a built dashboard by URL path; empty when it was not built. */
export async function loadStaticFiles(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const add = async (urlPath: string, file: string, cacheControl: string) => {
    const body = await readFile(file);
    files.set(urlPath, {
      body,
      headers: {
        'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': cacheControl,
        'x-content-type-options': 'nosniff',
      },
    });
  };
  try {
    await add('/', join(dir, 'index.html'), REVALIDATE);
  } catch {
    return files;
  }
  const assets = await readdir(join(dir, 'assets'), { withFileTypes: true }).catch(() => []);
  for (const entry of assets) if (entry.isFile()) await add(`${ASSETS_PATH}/${entry.name}`, join(dir, 'assets', entry.name), IMMUTABLE);
  return files;
}

export interface StaticRouteDeps {
  log: Logger;
  /** Where the built dashboard is; DEFAULT_WEB_DIR unless a test points elsewhere. */
  webDir?: string;
}

export async function registerStaticRoutes(app: TemplatedApp, deps: StaticRouteDeps, inFlight: InFlight): Promise<void> {
  const files = await loadStaticFiles(deps.webDir ?? DEFAULT_WEB_DIR);
  if (!files.has('/')) deps.log.warn({ dir: deps.webDir ?? DEFAULT_WEB_DIR }, 'dashboard not built: GET / answers 404 (run npm run build)');
  const serve = (route: string) => (res: Parameters<Parameters<TemplatedApp['get']>[1]>[0], req: Parameters<Parameters<TemplatedApp['get']>[1]>[1]) => {
    const exchange = new Exchange(res, inFlight, route);
    const path = req.getUrl();
    const file = files.get(path);
    if (!file) return replyError(exchange, new ApiError('not_found', `no file ${path}`), deps.log);
    exchange.sendRaw(200, file.body, file.headers);
  };
  app.get('/', serve('GET /'));
  app.get(`${ASSETS_PATH}/:file`, serve('GET /assets/:file'));
}
