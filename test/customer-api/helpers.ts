/**
 * An in-process ABC Tolls deployment for the customer API tests: log, tables and notifications in a temp dir,
 * the spend pipeline and the notify dispatcher running, and the customer API module served on 127.0.0.1
 * (random port) by a plain `http` server, or an `http2` cleartext one. The app's tables are the SQLite ones,
 * or a schema of PostgreSQL as on a node of a cluster.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { silentLogger } from '../../src/core/logger.ts';
import { FunctionsRuntime } from '../../src/functions/index.ts';
import { createAuthenticator, type RouteModule } from '../../src/gateway/index.ts';
import pg from 'pg';
import { openPostgresNotify, publishToPostgresNotify, type Notifications, type PostgresNotify } from '../../src/notify/index.ts';
import { openPostgresTables, type TableStore } from '../../src/tables/index.ts';
import { Customers, SpendReader, startSpendAlerts, type SpendAlerts } from '../../src/apps/abc-tolls/index.ts';
import { createCustomerApi, customerTokens } from '../../src/apps/abc-tolls/http/index.ts';
import type { Warehouse } from '../../src/warehouse/index.ts';
import { appendRecords, caughtUp, createTransactionsStream, openStores, tempDir, waitFor, type Stores } from '../../src/apps/abc-tolls/testing/harness.ts';

export const TOPIC = 'spend-alerts';

export interface ApiServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly stores: Stores;
  /** The app's notifications: `stores.notify`, or the PostgreSQL ones. */
  readonly notify: Notifications;
  /** Where the app keeps its state: `stores.store`, or the PostgreSQL tables. */
  readonly store: TableStore;
  readonly alerts: SpendAlerts;
  readonly customers: Customers;
  readonly spend: SpendReader;
  readonly api: RouteModule;
  /** The operator's API key, when operator auth is configured. */
  readonly operatorKey: string | undefined;
  /** Appends toll transactions and waits until the pipeline has applied every one. */
  appendTolls(records: readonly object[]): Promise<void>;
  /** Aborts the module's shutdown signal, as the server does before closing the gateway. */
  endStreams(): void;
  close(): Promise<void>;
}

export interface ApiServerOptions {
  /** Configure one operator API key (as `auth.apiKeys` does); without it operator routes are open. @default true */
  readonly operatorAuth?: boolean;
  readonly protocol?: 'http1' | 'http2';
  readonly maxBodyBytes?: number;
  /** Serves trip history from this warehouse. @default none (the route answers 503) */
  readonly warehouse?: Warehouse;
  /**
   * Keeps the app's tables in this schema of PostgreSQL instead of SQLite, and its notifications in the schema
   * `<schema>_notify` (dropped at close), as on a node of a cluster: its functions publish in their commits there.
   */
  readonly postgres?: { readonly url: string; readonly schema: string };
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const dir = await tempDir('tollstream-customer-api-');
  const stores = await openStores(dir.dir);
  await createTransactionsStream(stores.log);
  let store = stores.store;
  let functions = stores.functions;
  let notify: Notifications = stores.notify;
  let sharedNotify: PostgresNotify | undefined;
  if (options.postgres) {
    store = await openPostgresTables({ connectionString: options.postgres.url, schema: options.postgres.schema });
    functions = new FunctionsRuntime({ log: stores.log, store });
    publishToPostgresNotify(store, { schema: `${options.postgres.schema}_notify` });
    notify = sharedNotify = await openPostgresNotify({ connectionString: options.postgres.url, schema: `${options.postgres.schema}_notify`, pollIntervalMs: 50 });
  }
  const alerts = await startSpendAlerts({ log: stores.log, store, notify, functions, config: { source: 'transactions', timeZone: 'UTC' } });
  notify.start();
  const customers = await Customers.open({ store, timeZone: 'UTC' });
  const spend = new SpendReader({ store, timeZone: 'UTC' });
  const operatorKey = options.operatorAuth === false ? undefined : crypto.randomBytes(24).toString('base64url');
  const authenticator = createAuthenticator({
    accessKeys: [],
    apiKeys: operatorKey ? [`sha256:${crypto.createHash('sha256').update(operatorKey).digest('hex')}`] : [],
  });
  authenticator.refuseAsOperator(customerTokens(customers));
  const shutdown = new AbortController();
  const api = createCustomerApi({
    customers,
    spend,
    notify,
    logger: silentLogger,
    operatorAuth: (header) => authenticator.verifyBearer(header),
    shutdown: shutdown.signal,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.warehouse ? { warehouse: options.warehouse } : {}),
  });

  // What the gateway does: the module first, then its own routes (here, only a 404).
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (api.matches(req.method ?? 'GET', path)) {
      void api.handle(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'not the customer API' } }));
  };
  const sockets = new Set<net.Socket>();
  const server = options.protocol === 'http2' ? http2.createServer(handler) : http.createServer(handler);
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const mapping = alerts.mappings[0]!;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stores,
    notify,
    store,
    alerts,
    customers,
    spend,
    api,
    operatorKey,
    async appendTolls(records) {
      await appendRecords(stores.log, 'toll_transactions', records);
      await waitFor('the spend pipeline to apply the tolls', () => caughtUp({ log: stores.log, store }, mapping, 'toll_transactions'));
    },
    endStreams: () => shutdown.abort(),
    async close() {
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await alerts.stop();
      if (options.postgres) {
        await functions.stop();
        await sharedNotify?.close();
        await store.close();
        const admin = new pg.Client({ connectionString: options.postgres.url });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS "${options.postgres.schema}_notify" CASCADE`).finally(() => admin.end());
      }
      await stores.close();
      await dir.remove();
    },
  };
}

let tollCounter = 0;

/** A valid toll transaction of `customerId` for `cents`, at `eventTime` (ms since the epoch). */
export function toll(customerId: string, cents: number, eventTime: number = Date.now()): object {
  tollCounter++;
  return {
    transaction_id: `tx-${process.pid}-${tollCounter}-${crypto.randomBytes(4).toString('hex')}`,
    customer_id: customerId,
    tag_id: `tag-${customerId}`,
    plate: `PL${tollCounter}`,
    plaza_id: 'P01',
    lane: 1,
    vehicle_class: 2,
    amount_cents: cents,
    currency: 'USD',
    event_time: new Date(eventTime).toISOString(),
  };
}

/** A JSON request to the API; `auth` is the bearer token (customer token or operator key). */
export async function call(url: string, method: string, path: string, options: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== undefined) headers.authorization = `Bearer ${options.auth}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}
