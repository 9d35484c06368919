/**
 * Serves the built browser pages (dist/web by default): the operator console under /console/, the pages apps
 * declare (`pages`, e.g. the ABC Tolls customer app under /app/) and their hashed bundles under /assets/; and at
 * /console/pages.json the console pages apps add to the console's menu (`consolePages`). GET and HEAD only. Works
 * with node:http and the node:http2 compatibility API alike.
 *
 * - A path that names no file under a page answers that page's index.html when it looks like a page route
 *   (no file extension), so deep links work; a missing file with an extension is 404.
 * - Hashed bundles (/assets/) are cached for a year as immutable; pages, the manifest and the service worker
 *   are revalidated on every load (ETag), so a new build shows at once.
 * - Paths are decoded segment by segment; `..`, `.`, dot-files, backslashes, NUL and encoded slashes are
 *   refused, and the resolved file must lie inside the root, so nothing outside the build can be read.
 * - A page not in the build (no `<root>/<page>/index.html`: nothing built yet, or an app's page that this build
 *   did not include) answers 503 with a page saying to run `npm run build:web`, the bundles too until the console
 *   is built; the other pages are served. It is checked per request, so building later needs no restart.
 */
import fs from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import path from 'node:path';
import zlib from 'node:zlib';
import { ASSETS_PATH, checkWebPages, CONSOLE_PATH, consolePageFile, type ConsolePage, type ConsolePageLink, type WebPage } from './pages.ts';
// The router module alone, not the gateway's door: this file is in the pages' type check and build (through
// src/web/index.ts, which the apps' page declarations import), and the door would pull the whole server in.
import { createRouter } from '../gateway/router.ts';

export type StaticRequest = IncomingMessage | Http2ServerRequest;
export type StaticResponse = ServerResponse | Http2ServerResponse;

/** What the server mounts among the gateway's route modules. */
export interface RouteModule {
  /** True for the requests this module answers (GET and HEAD of /console, /assets and the declared pages' paths). */
  matches(method: string, path: string): boolean;
  /** Answers a request for which `matches` was true. Never throws; failures answer 5xx. */
  handle(req: StaticRequest, res: StaticResponse): Promise<void>;
}

export interface StaticRoutesOptions {
  /** The build output directory, resolved against the process' working directory. @default 'dist/web' */
  readonly root?: string;
  /** Pages beside the console's, each served from the build's folder of its path (`<root>/app/` for `/app/`). @default none */
  readonly pages?: readonly Pick<WebPage, 'path' | 'title'>[];
  /** Pages the console adds to its menu, listed at /console/pages.json with their modules in the build. @default none */
  readonly consolePages?: readonly Pick<ConsolePage, 'id' | 'title'>[];
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.webmanifest', '.map', '.svg', '.txt']);
/** Below this, gzip saves less than the header costs. */
const MIN_GZIP_BYTES = 1024;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const SHORT = 'public, max-age=3600';

/**
 * The pages fetch only their own origin; inline styles are allowed because uPlot and the pages set element
 * styles. Nothing else may load, and no other site may frame the pages.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export function createStaticRoutes(options: StaticRoutesOptions = {}): RouteModule {
  const root = path.resolve(options.root ?? 'dist/web');
  const declared = options.pages ?? [];
  checkWebPages([{ pages: declared, consolePages: options.consolePages ?? [] }]);
  /** URL prefix = directory in the build holding its index.html. */
  const pagePaths = [CONSOLE_PATH, ...declared.map((p) => p.path)];
  const consolePagesJson = JSON.stringify((options.consolePages ?? []).map((p): ConsolePageLink => ({ id: p.id, title: p.title, module: `/${consolePageFile(p.id)}` })));
  const elsewhere = [...declared.map((p) => `<a href="/${p.path}/">${escapeHtml(p.title)}</a>`), '<a href="/console/">the console</a>'];
  const gzipCache = new Map<string, { mtimeMs: number; size: number; gz: Buffer }>();

  return {
    matches(method, url) {
      if (method !== 'GET' && method !== 'HEAD') return false;
      const p = pathOf(url);
      return pagePaths.some((page) => p === `/${page}` || p.startsWith(`/${page}/`)) || p.startsWith(`/${ASSETS_PATH}/`);
    },

    async handle(req, res) {
      try {
        await serve(req, res);
      } catch {
        // A read that failed after the checks (file removed mid-request, disk error): nothing more useful to say.
        if (!res.headersSent) reply(res, req, 500, htmlHeaders(REVALIDATE), page('Error', 'The page could not be read. Try again; if it keeps failing, rebuild the pages with <code>npm run build:web</code>.'));
        else res.end();
      }
    },
  };

  async function serve(req: StaticRequest, res: StaticResponse): Promise<void> {
    const url = req.url ?? '/';
    const segments = decodeSegments(pathOf(url));
    if (segments === undefined) {
      reply(res, req, 400, htmlHeaders(REVALIDATE), page('Bad request', 'That path is not allowed.'));
      return;
    }
    const [top, ...rest] = segments;
    const pageName = pagePaths.find((p) => p === top);

    if (!(await isBuilt(pageName ?? CONSOLE_PATH))) {
      reply(res, req, 503, { ...htmlHeaders(REVALIDATE), 'retry-after': '10' }, page('Not built yet', 'The web pages have not been built. Run <code>npm run build:web</code> (or <code>npm install</code>, which builds them), then reload this page.'));
      return;
    }
    // `/app` -> `/app/`: the service worker's scope and relative links need the slash.
    if (pageName && pathOf(url) === `/${pageName}`) {
      const q = url.indexOf('?');
      res.writeHead(301, { location: `/${pageName}/${q >= 0 ? url.slice(q) : ''}`, ...COMMON_HEADERS });
      res.end();
      return;
    }

    if (top === CONSOLE_PATH && rest.length === 1 && rest[0] === 'pages.json') {
      reply(res, req, 200, { 'content-type': CONTENT_TYPES['.json']!, 'cache-control': REVALIDATE, ...COMMON_HEADERS }, consolePagesJson);
      return;
    }
    let file = await existingFile(segments);
    if (!file && pageName && !path.extname(rest[rest.length - 1] ?? '')) file = await existingFile([pageName, 'index.html']);
    if (!file) {
      reply(res, req, 404, htmlHeaders(REVALIDATE), page('Not found', `Nothing here. Go to ${elsewhere.slice(0, -1).join(', ')}${elsewhere.length > 1 ? ' or ' : ''}${elsewhere[elsewhere.length - 1]}.`));
      return;
    }
    await sendFile(req, res, file.path, file.stat, top === ASSETS_PATH ? IMMUTABLE : cachePolicy(file.path));
  }

  /**
   * Whether the build holds the page (the console's for the bundles): each page on its own, so that a declared page
   * missing from the build (an app whose pages were not built with these) leaves the others served.
   */
  function isBuilt(page: string): Promise<boolean> {
    return isFile(path.join(root, page, 'index.html'));
  }

  /** The regular file the segments name (or the index.html of the directory they name), inside the root. */
  async function existingFile(segments: readonly string[]): Promise<{ path: string; stat: import('node:fs').Stats } | undefined> {
    let file = path.join(root, ...segments);
    const relative = path.relative(root, file);
    if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
    let stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isDirectory()) {
      file = path.join(file, 'index.html');
      stat = await fs.stat(file).catch(() => undefined);
    }
    return stat?.isFile() ? { path: file, stat } : undefined;
  }

  async function sendFile(req: StaticRequest, res: StaticResponse, file: string, stat: import('node:fs').Stats, cacheControl: string): Promise<void> {
    const ext = path.extname(file).toLowerCase();
    const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'cache-control': cacheControl,
      etag,
      'last-modified': stat.mtime.toUTCString(),
      ...COMMON_HEADERS,
    };
    if (ext === '.html') headers['content-security-policy'] = CSP;
    const compressible = COMPRESSIBLE.has(ext) && stat.size >= MIN_GZIP_BYTES;
    if (compressible) headers.vary = 'accept-encoding';
    if (ifNoneMatch(req, etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    let body: Buffer;
    if (compressible && acceptsGzip(req)) {
      const cached = gzipCache.get(file);
      if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) {
        body = cached.gz;
      } else {
        body = zlib.gzipSync(await fs.readFile(file));
        gzipCache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, gz: body });
      }
      headers['content-encoding'] = 'gzip';
    } else {
      body = await fs.readFile(file);
    }
    reply(res, req, 200, headers, body);
  }
}

function cachePolicy(file: string): string {
  const ext = path.extname(file).toLowerCase();
  // Pages, the manifest and the service worker name no hash: a new build must show on the next load.
  if (ext === '.html' || ext === '.webmanifest' || ext === '.js' || ext === '.json') return REVALIDATE;
  return SHORT;
}

function reply(res: StaticResponse, req: StaticRequest, status: number, headers: Record<string, string>, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  (res as ServerResponse).writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  if (req.method === 'HEAD') res.end();
  else (res as ServerResponse).end(bytes);
}

function htmlHeaders(cacheControl: string): Record<string, string> {
  return { 'content-type': 'text/html; charset=utf-8', 'cache-control': cacheControl, 'content-security-policy': CSP, ...COMMON_HEADERS };
}

/** A small self-contained page for errors (no build needed). `html` is trusted text of this module only. */
function page(title: string, html: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} — Tollstream</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#14181f;line-height:1.5}code{background:#eef2f7;padding:.1rem .3rem;border-radius:4px}a{color:#0a58b0}</style></head>
<body><h1>${title}</h1><p>${html}</p></body></html>`;
}

function pathOf(url: string): string {
  // Asked of every request the gateway serves: two scans are cheaper than a regular expression.
  const q = url.indexOf('?');
  const h = url.indexOf('#');
  const end = q < 0 ? h : h < 0 ? q : Math.min(q, h);
  return end < 0 ? url : url.slice(0, end);
}

/**
 * `/app/a%20b/c.js` -> `['app', 'a b', 'c.js']`; undefined when a segment is not valid percent-encoding or
 * could step outside its directory (`..`, `.`, dot-files, `/` or `\` inside a segment, NUL).
 */
export function decodeSegments(p: string): string[] | undefined {
  const out: string[] = [];
  const raw = p.split('/');
  for (let i = 1; i < raw.length; i++) {
    const s = raw[i]!;
    if (s === '') {
      if (i === raw.length - 1) break; // a trailing slash names the directory
      return undefined; // `//` in the middle
    }
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      return undefined;
    }
    if (d.startsWith('.') || d.includes('/') || d.includes('\\') || d.includes('\0')) return undefined;
    out.push(d);
  }
  return out;
}

async function isFile(file: string): Promise<boolean> {
  return (await fs.stat(file).catch(() => undefined))?.isFile() ?? false;
}

function header(req: StaticRequest, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

function ifNoneMatch(req: StaticRequest, etag: string): boolean {
  const v = header(req, 'if-none-match');
  return v !== '' && v.split(',').some((t) => t.trim() === etag || t.trim() === '*');
}

function acceptsGzip(req: StaticRequest): boolean {
  return /\bgzip\b/.test(header(req, 'accept-encoding')) && !/\bgzip;\s*q=0(\.0*)?\b/.test(header(req, 'accept-encoding'));
}

/** A declared page's title as HTML text. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
