/**
 * The web pages against a real server, for the browser tests: a `startServer` instance (log, warehouse,
 * deliveries, spending alerts and the customer API, native API, /metrics) with an API key, behind a front
 * HTTP server on 127.0.0.1 that serves the built pages (src/web) and proxies everything else to it. Once
 * src/server mounts the static routes itself (a gateway route module, like the customer API), the front
 * server is no longer needed and the tests can point at `server.url` directly.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_CONFIG } from '../../src/config/index.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashApiKey } from '../../src/gateway/auth/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { createStaticRoutes } from '../../src/web/index.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/** Builds the pages into `outDir` with the project's Vite config (about 3 s). */
export async function buildWeb(outDir: string): Promise<void> {
  await promisify(execFile)(path.join(repo, 'node_modules/.bin/vite'), ['build', '--config', 'web/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: repo, timeout: 120_000 });
}

export interface WebStack {
  /** The front server: the pages, and everything else proxied to the server. */
  readonly url: string;
  readonly server: RunningServer;
  /** The operator's API key (the server requires it on /v1). */
  readonly apiKey: string;
  close(): Promise<void>;
}

export async function startWebStack(options: { webRoot: string }): Promise<WebStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollstream-web-e2e-'));
  const apiKey = crypto.randomBytes(18).toString('base64url');
  const undo: Array<() => Promise<void> | void> = [() => fs.rmSync(dataDir, { recursive: true, force: true })];
  const close = async () => {
    for (const step of undo.splice(0)) await step();
  };
  try {
    const server = await startServer(
      {
        ...DEFAULT_CONFIG,
        dataDir,
        host: '127.0.0.1',
        port: 0,
        logging: { level: 'silent', format: 'json' },
        auth: { accessKeys: [], apiKeys: [hashApiKey(apiKey)] },
        alerts: { ...DEFAULT_CONFIG.alerts, enabled: true, timeZone: 'UTC' },
      },
      { logger: silentLogger },
    );
    undo.unshift(() => server.close());

    const pages = createStaticRoutes({ root: options.webRoot });
    const upstream = new URL(server.url);
    const front = http.createServer((req, res) => {
      if (pages.matches(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!)) void pages.handle(req, res);
      else proxy(req, res, upstream);
    });
    const sockets = new Set<net.Socket>();
    front.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    undo.unshift(async () => {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    });
    const port = (front.address() as net.AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, server, apiKey, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Streams the request to the server and the answer back (SSE included); a client that leaves ends both. */
function proxy(req: http.IncomingMessage, res: http.ServerResponse, upstream: URL): void {
  const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'BAD_GATEWAY', message: 'the test proxy could not reach the server' } }));
  });
  res.on('close', () => out.destroy());
  req.pipe(out);
}

let sent = 0;

/** A valid toll transaction of `customerId` for `cents`, now. */
export function toll(customerId: string, cents: number): Record<string, unknown> {
  sent++;
  return {
    transaction_id: `web-${process.pid}-${sent}-${crypto.randomBytes(4).toString('hex')}`,
    customer_id: customerId,
    tag_id: `tag-${customerId}`,
    plate: `WEB${sent}`,
    plaza_id: `P0${(sent % 3) + 1}`,
    lane: 1,
    vehicle_class: 2,
    amount_cents: cents,
    currency: 'USD',
    event_time: new Date().toISOString(),
  };
}

/** Appends through the native API records endpoint, partitioned by customer (as roadside equipment does). */
export async function sendTolls(url: string, apiKey: string, records: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const res = await fetch(`${url}/v1/streams/toll_transactions/records?partitionKeyField=customer_id`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${apiKey}` },
    body: records.map((r) => JSON.stringify(r)).join('\n'),
  });
  const answer = (await res.json()) as { failedRecordCount?: number };
  if (res.status !== 200 || answer.failedRecordCount !== 0) throw new Error(`sending tolls failed: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
}
