/**
 * The static route module over real sockets (HTTP/1.1 and h2c): pages, deep-link fallback, content types,
 * cache headers, conditional and compressed answers, refused traversal, 404s and the not-built page; the pages
 * served are the console's and those declared (`pages`), and the console pages declared are listed for the console.
 */
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteModule as GatewayRouteModule } from '../../src/gateway/index.ts';
import { createStaticRoutes, type RouteModule } from '../../src/web/index.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request with the path sent exactly as given (fetch would normalise `..` away). */
function get(port: number, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function serve(routes: RouteModule): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (routes.matches(req.method ?? 'GET', req.url ?? '/')) void routes.handle(req, res);
    else {
      res.writeHead(418);
      res.end('not mine');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

const APP_HTML = '<!doctype html><title>app</title><div id="root"></div>';
const CONSOLE_HTML = '<!doctype html><title>console</title>';
/** What the apps declare in these tests: the customer app's page, and a page of the console. */
const DECLARED = { pages: [{ path: 'app', title: 'the ABC Tolls app' }], consolePages: [{ id: 'stations', title: 'Station alerts' }] };
const BUNDLE = `console.log(${JSON.stringify('x'.repeat(5000))});`;

function writeBuild(dir: string): void {
  fs.mkdirSync(path.join(dir, 'app'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'console'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'app', 'index.html'), APP_HTML);
  fs.writeFileSync(path.join(dir, 'console', 'index.html'), CONSOLE_HTML);
  fs.writeFileSync(path.join(dir, 'app', 'manifest.webmanifest'), '{"name":"ABC Tolls"}');
  fs.writeFileSync(path.join(dir, 'app', 'sw.js'), 'self.addEventListener("fetch", () => {});');
  fs.writeFileSync(path.join(dir, 'app', 'icon-192.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  fs.writeFileSync(path.join(dir, 'app', 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(dir, 'assets', 'app-Ab12Cd34.js'), BUNDLE);
  fs.writeFileSync(path.join(dir, 'assets', 'app-Ab12Cd34.css'), 'body{margin:0}');
}

describe('static routes of a built web directory', () => {
  let base: string;
  let root: string;
  let server: http.Server;
  let port: number;
  const routes = () => createStaticRoutes({ root, ...DECLARED });

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-'));
    root = path.join(base, 'web');
    writeBuild(root);
    // Files next to the root that no request may reach.
    fs.writeFileSync(path.join(base, 'secret.txt'), 'TOP SECRET');
    fs.writeFileSync(path.join(root, '.env'), 'TOKEN=hidden');
    ({ server, port } = await serve(routes()));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('claims GET and HEAD of /app, /console and /assets, and nothing else', () => {
    const r = routes();
    for (const p of ['/app', '/app/', '/app/sw.js', '/app?x=1', '/console', '/console/#/sql', '/assets/app-1.js']) expect(r.matches('GET', p), p).toBe(true);
    expect(r.matches('HEAD', '/console/')).toBe(true);
    for (const p of ['/', '/apple', '/application/x', '/v1/streams', '/metrics', '/health', '/assets']) expect(r.matches('GET', p), p).toBe(false);
    expect(r.matches('POST', '/app/')).toBe(false);
    expect(r.matches('DELETE', '/console/')).toBe(false);
  });

  it('serves each page as HTML that is revalidated on every load, with a content security policy', async () => {
    const app = await get(port, '/app/');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(app.headers['cache-control']).toBe('no-cache');
    expect(app.headers['content-security-policy']).toContain("default-src 'self'");
    expect(app.headers['x-content-type-options']).toBe('nosniff');
    expect(app.body.toString()).toBe(APP_HTML);
    const console = await get(port, '/console/');
    expect(console.body.toString()).toBe(CONSOLE_HTML);
  });

  it('redirects a page without its slash to the page, keeping the query', async () => {
    const res = await get(port, '/app?from=install');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/app/?from=install');
  });

  it('answers a deep link of a page with that page', async () => {
    expect((await get(port, '/app/alerts')).body.toString()).toBe(APP_HTML);
    expect((await get(port, '/console/streams/toll_transactions')).body.toString()).toBe(CONSOLE_HTML);
  });

  it('gives each kind of file its content type', async () => {
    const types: Record<string, string> = {
      '/app/manifest.webmanifest': 'application/manifest+json; charset=utf-8',
      '/app/sw.js': 'text/javascript; charset=utf-8',
      '/app/icon-192.png': 'image/png',
      '/app/icon.svg': 'image/svg+xml',
      '/assets/app-Ab12Cd34.js': 'text/javascript; charset=utf-8',
      '/assets/app-Ab12Cd34.css': 'text/css; charset=utf-8',
    };
    for (const [p, type] of Object.entries(types)) {
      const res = await get(port, p);
      expect(res.status, p).toBe(200);
      expect(res.headers['content-type'], p).toBe(type);
    }
  });

  it('caches hashed assets for a year and revalidates the service worker and the manifest', async () => {
    expect((await get(port, '/assets/app-Ab12Cd34.js')).headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await get(port, '/app/sw.js')).headers['cache-control']).toBe('no-cache');
    expect((await get(port, '/app/manifest.webmanifest')).headers['cache-control']).toBe('no-cache');
  });

  it('answers 304 to a matching If-None-Match, and gzip to a client that accepts it', async () => {
    const first = await get(port, '/assets/app-Ab12Cd34.js');
    const etag = String(first.headers.etag);
    expect(etag).not.toBe('undefined');
    const again = await get(port, '/assets/app-Ab12Cd34.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const gz = await get(port, '/assets/app-Ab12Cd34.js', { 'accept-encoding': 'gzip, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toBe('accept-encoding');
    expect(gz.body.length).toBeLessThan(BUNDLE.length);
    expect(zlib.gunzipSync(gz.body).toString()).toBe(BUNDLE);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await get(port, '/assets/app-Ab12Cd34.js', {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(BUNDLE.length);
    expect(res.body.length).toBe(0);
  });

  it('answers 404 for a missing file, and does not fall back to the page for one with an extension', async () => {
    for (const p of ['/app/missing.png', '/assets/app-00000000.js', '/console/nope.css', '/assets/']) {
      const res = await get(port, p);
      expect(res.status, p).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    }
  });

  it('refuses every path that could leave the build directory or reach hidden files', async () => {
    const attempts = [
      '/app/../secret.txt',
      '/app/../../secret.txt',
      '/assets/../../secret.txt',
      '/app/%2e%2e/secret.txt',
      '/app/%2E%2E/%2E%2E/secret.txt',
      '/app/..%2fsecret.txt',
      '/app/..%2F..%2Fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/app/..%5c..%5csecret.txt',
      '/app/%00',
      '/app/.env',
      '/app/%2e',
      '/console//etc/passwd',
      '/app/%zz',
      '/assets/..',
    ];
    for (const p of attempts) {
      const res = await get(port, p);
      expect([400, 404], p).toContain(res.status);
      expect(res.body.toString(), p).not.toContain('TOP SECRET');
      expect(res.body.toString(), p).not.toContain('TOKEN=hidden');
    }
    expect((await get(port, '/app/../secret.txt')).status).toBe(400);
  });

  it('lists the console pages the apps declare at /console/pages.json, each with its module in the build', async () => {
    const res = await get(port, '/console/pages.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(JSON.parse(res.body.toString())).toEqual([{ id: 'stations', title: 'Station alerts', module: '/console/pages/stations.js' }]);
  });

  it('serves only the pages declared: without the app, /app is not claimed, the console lists no page and the 404 page links the console alone', async () => {
    const r = createStaticRoutes({ root });
    expect(r.matches('GET', '/app/')).toBe(false);
    expect(r.matches('GET', '/console/')).toBe(true);
    const { server: bare, port: barePort } = await serve(r);
    try {
      expect(JSON.parse((await get(barePort, '/console/pages.json')).body.toString())).toEqual([]);
      const missing = (await get(barePort, '/console/nope.css')).body.toString();
      expect(missing).toContain('<a href="/console/">the console</a>');
      expect(missing).not.toContain('/app/');
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
    expect((await get(port, '/console/nope.css')).body.toString()).toContain('<a href="/app/">the ABC Tolls app</a> or <a href="/console/">the console</a>');
  });

  it("refuses a page declared at the console's path, at another page's, or twice in the console", () => {
    expect(() => createStaticRoutes({ root, pages: [{ path: 'console', title: 'x' }] })).toThrow(/already taken/);
    expect(() => createStaticRoutes({ root, pages: [{ path: 'assets', title: 'x' }] })).toThrow(/already taken/);
    expect(() => createStaticRoutes({ root, pages: [{ path: 'app', title: 'a' }, { path: 'app', title: 'b' }] })).toThrow(/already taken/);
    expect(() => createStaticRoutes({ root, pages: [{ path: '../etc', title: 'x' }] })).toThrow(/lower-case letters/);
    expect(() => createStaticRoutes({ root, consolePages: [{ id: 'stations', title: 'a' }, { id: 'stations', title: 'b' }] })).toThrow(/declared twice/);
  });

  it('serves the same over cleartext HTTP/2 (the compatibility API)', async () => {
    const r = routes();
    const h2 = http2.createServer((req, res) => void r.handle(req, res));
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(h2.address() as { port: number }).port}`);
    try {
      const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const stream = client.request({ ':path': '/console/queries' });
        let status = 0;
        let type = '';
        let body = '';
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
          type = String(headers['content-type']);
        });
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (body += c));
        stream.on('end', () => resolve({ status, type, body }));
        stream.on('error', reject);
      });
      expect(answer).toEqual({ status: 200, type: 'text/html; charset=utf-8', body: CONSOLE_HTML });
    } finally {
      client.close();
      await new Promise((resolve) => h2.close(resolve));
    }
  });
});

describe('static routes without a build', () => {
  it("answer 503 for a declared page missing from the build, and serve the console's pages", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-partial-'));
    const root = path.join(base, 'web');
    writeBuild(root);
    const { server, port } = await serve(createStaticRoutes({ root, pages: [...DECLARED.pages, { path: 'visits', title: 'the visits app' }] }));
    try {
      const missing = await get(port, '/visits/');
      expect(missing.status).toBe(503);
      expect(missing.body.toString()).toContain('npm run build:web');
      expect((await get(port, '/console/')).status).toBe(200);
      expect((await get(port, '/app/')).status).toBe(200);
      expect((await get(port, '/assets/app-Ab12Cd34.js')).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('answer 503 with a page that says to run npm run build:web, and serve the build once it exists', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-missing-'));
    const root = path.join(base, 'not-built');
    const { server, port } = await serve(createStaticRoutes({ root, ...DECLARED }));
    try {
      for (const p of ['/app/', '/console/', '/assets/app-1.js']) {
        const res = await get(port, p);
        expect(res.status, p).toBe(503);
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(res.body.toString()).toContain('npm run build:web');
      }
      writeBuild(root);
      const after = await get(port, '/app/');
      expect(after.status).toBe(200);
      expect(after.body.toString()).toBe(APP_HTML);
    } finally {
      await new Promise((r) => server.close(r));
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('static routes as a gateway route module', () => {
  it('has the shape the gateway mounts (checked by the type checker) and claims no API path', () => {
    const module: GatewayRouteModule = createStaticRoutes({ root: os.tmpdir() });
    for (const p of ['/v1/me', '/v1/me/notifications/stream', '/v1/customers', '/v1/streams', '/metrics', '/health', '/']) expect(module.matches('GET', p), p).toBe(false);
  });
});
