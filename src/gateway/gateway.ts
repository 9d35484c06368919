/**
 * The gateway: one request handler for the Kinesis and Firehose APIs (by `X-Amz-Target`, in JSON or CBOR),
 * the native API (/v1), /health and /metrics, served over HTTP/1.1 and HTTP/2 on one port.
 */
import type { LeaseCoordinatorStatus } from '../leases/index.ts';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { DEFAULT_CONFIG, type HttpSettings } from '../config/index.ts';
import { openFilesLimit } from '../core/open-files.ts';
import type { StreamLog } from '../log/index.ts';
import type { QueryManager } from '../queries/index.ts';
import { reportCatalog, type ReferenceTable, type ReportDefinition } from '../reports/index.ts';
import type { Warehouse } from '../warehouse/index.ts';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '../metrics/index.ts';
import type { Authenticator } from './auth/index.ts';
import { StreamedReply, type AwsContext, type DeliveryView } from './aws/context.ts';
import { resolveTarget, runOperation, unknownOperation } from './aws/dispatch.ts';
import { createIteratorCodec } from './aws/iterators.ts';
import { createCors } from './cors.ts';
import { limitShardWrites } from './shard-write-limits.ts';
import { wireFormatOf } from './aws/wire.ts';
import { errorResponse, type ErrorShape } from './errors.ts';
import { ClientGoneError, asResponse, readBody, send, type Request, type Response, type RouteModule, type ServedRoute } from './http.ts';
import { withinOpenFiles } from './limits.ts';
import { createGatewayMetrics } from './metrics.ts';
import { handleNative, matchRoute, methodNotServed, nativeRoutes, ROUTE_METHODS, type NativeContext } from './native/routes.ts';
import { methodNotAllowed, refuseUnservedMethod } from './native/route-module.ts';
import { QuerySlots, type QuerySlotLimits } from './native/query-slots.ts';
import { createRouter } from './router.ts';
import { createProtocolServer } from './server.ts';

export interface GatewayOptions {
  readonly log: StreamLog;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Where the gateway registers its metrics; /metrics renders this registry. @default a new Registry */
  readonly metrics?: Registry;
  /** Serves `/v1/reports`, `/v1/warehouse/query` and `/v1/reference/{name}`; absent, they answer 503. @default none */
  readonly warehouse?: Warehouse;
  /** Warehouse queries (SQL and reports) running at once: per caller, and in all; a `QuerySlots` shares them with the PostgreSQL port. @default 2 per caller, 8 in all */
  readonly warehouseQueries?: QuerySlotLimits | QuerySlots;
  /** Serves `/v1/queries` (continuous SQL on the log); absent, those routes answer 404. @default none */
  readonly queries?: QueryManager;
  /** Reports the apps add to the platform's at `/v1/reports`. @default none */
  readonly reports?: readonly ReportDefinition[];
  /** The apps' reference data, each replaced as a whole by `PUT /v1/reference/{name}`. @default none */
  readonly references?: readonly ReferenceTable[];
  /**
   * Route modules answered before the native API, in order (the customer API, the web pages). Each does its
   * own authentication: customer tokens are not native API keys. @default none
   */
  readonly routes?: readonly RouteModule[];
  /** Signs shard iterators. Give the same secret to every instance (and across restarts) to keep iterators valid. @default 32 random bytes */
  readonly iteratorSecret?: string | Buffer;
  /** Largest Kinesis/Firehose request body, in bytes. @default 10 MiB (a full PutRecords in base64 fits) */
  readonly maxAwsBodyBytes?: number;
  /** Largest native ingest body, in bytes. @default 16 MiB */
  readonly maxNativeBodyBytes?: number;
  /** Region and account used in stream ARNs. @default 'us-east-1', '000000000000' */
  readonly region?: string;
  readonly accountId?: string;
  /** The clock for shard iterator expiry and refusing future timestamps, ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /**
   * SubscribeToShard: a subscription ends `lifetimeMs` after it started (the client subscribes again from its
   * continuation sequence number), and an event is sent at least every `heartbeatMs`, empty if no record came.
   * @default { lifetimeMs: 300000 (5 minutes, as Kinesis), heartbeatMs: 5000 }
   */
  readonly subscribeToShard?: { readonly lifetimeMs?: number; readonly heartbeatMs?: number };
  /**
   * The work leases this node holds (a cluster node), shown in /health; a node cut off from the lease table has
   * stopped that work and answers `degraded`. @default none (not shown)
   */
  readonly leases?: () => LeaseCoordinatorStatus;
  /** The deliveries the server runs, for the Firehose control plane (DescribeDeliveryStream). @default none */
  readonly deliveries?: () => readonly DeliveryView[];
  /**
   * Apply Kinesis' per-shard write limits (1 MiB/s, 1,000 records/s) to the Kinesis and Firehose APIs, measured
   * with `now`. @default false
   */
  readonly shardWriteLimits?: boolean;
  /** Whether /health answers 200 from the start. @default false (call `setReady(true)` once started) */
  readonly ready?: boolean;
  /** Connection and body limits and CORS origins; each one not given takes its default from the config schema (`http.*`). */
  readonly http?: Partial<HttpSettings>;
  /** The process's open-file limit; `http.maxConnections` is lowered to half of it. @default read from the system (`ulimit -n`) */
  readonly openFilesLimit?: number;
}

export interface Gateway {
  /** Binds the one port (0 for a random one) and resolves with the bound port. */
  listen(port: number, host: string): Promise<{ port: number }>;
  /** Stops accepting, ends keep-alive connections, HTTP/2 sessions and tails, and waits for in-flight requests. */
  close(): Promise<void>;
  /** /health answers 200 when ready, 503 otherwise. */
  setReady(ready: boolean): void;
  /**
   * Every route served by path: /health and /metrics, the native /v1 routes, and those of each route module that
   * lists its own. The Kinesis and Firehose APIs (addressed by X-Amz-Target) and browser pages are not among them.
   */
  routes(): readonly ServedRoute[];
  readonly metrics: Registry;
}

/** What the gateway answers outside /v1 itself, by the shared router; `/health/` is no route, as it never was. */
const OPS_ROUTES = createRouter<'health' | 'metrics'>([
  { pattern: 'GET /health', route: 'health' },
  { pattern: 'GET /metrics', route: 'metrics' },
], { trailingSlash: 'strict' });

/** The status recorded in metrics for requests whose client left before sending the whole body (nginx' convention). */
const CLIENT_CLOSED_REQUEST = 499;

export function createGateway(options: GatewayOptions): Gateway {
  const { log, authenticator } = options;
  const logger = options.logger.child({ component: 'gateway' });
  const registry = options.metrics ?? new Registry();
  const metrics = createGatewayMetrics(registry, log);
  const maxAwsBodyBytes = options.maxAwsBodyBytes ?? 10 * 1024 * 1024;
  const maxNativeBodyBytes = options.maxNativeBodyBytes ?? 16 * 1024 * 1024;
  const shutdown = new AbortController();
  const routes = options.routes ?? [];
  let ready = options.ready ?? false;
  metrics.setReady(ready);
  const httpSettings = { ...DEFAULT_CONFIG.http, ...options.http };
  const cors = createCors(httpSettings.corsOrigins);

  // Random partition keys: a per-process prefix and a counter; the log's MD5 spreads them evenly over shards.
  const keyPrefix = crypto.randomBytes(6).toString('hex');
  let keyCounter = 0;
  const randomPartitionKey = () => `${keyPrefix}-${(keyCounter++).toString(36)}`;
  const requestPrefix = crypto.randomBytes(4).toString('hex');
  let requestCounter = 0;

  const now = options.now ?? Date.now;
  const aws: AwsContext = {
    log: options.shardWriteLimits ? limitShardWrites(log, now) : log,
    iterators: createIteratorCodec(options.iteratorSecret ?? crypto.randomBytes(32), options.now),
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    randomPartitionKey,
    now,
    shutdown: shutdown.signal,
    deliveries: options.deliveries ?? (() => []),
    subscription: { lifetimeMs: options.subscribeToShard?.lifetimeMs ?? 300_000, heartbeatMs: options.subscribeToShard?.heartbeatMs ?? 5_000 },
  };
  const native: NativeContext = { log, logger, maxBodyBytes: maxNativeBodyBytes, randomPartitionKey, shutdown: shutdown.signal, warehouse: options.warehouse, queries: options.queries, reports: reportCatalog(options.reports), references: options.references ?? [], querySlots: options.warehouseQueries instanceof QuerySlots ? options.warehouseQueries : new QuerySlots(options.warehouseQueries ?? { perCaller: 2, total: 8 }) };

  async function handle(req: Request, res: Response): Promise<void> {
    const started = performance.now();
    const requestId = `${requestPrefix}-${(requestCounter++).toString(36)}`;
    asResponse(res).setHeader('x-amzn-requestid', requestId);
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    // HEAD is GET without the body (RFC 9110, 9.3.2): Node's response drops the body of a HEAD request itself.
    const readMethod = method === 'HEAD' ? 'GET' : method;
    const target = awsTarget(req.headers['x-amz-target'], url);
    let api = 'native';
    let operation = 'unknown';
    let shape: ErrorShape = 'native';
    let status: number | undefined;
    const mounted = typeof target === 'string' || routes.length === 0 ? undefined : routes.find((m) => m.matches(method, url.split('?', 1)[0]!) || m.matches(readMethod, url.split('?', 1)[0]!));
    try {
      if (cors.handle(req, res)) {
        api = 'ops';
        operation = 'preflight';
      } else if (typeof target === 'string') {
        const format = wireFormatOf(req.headers['content-type']);
        shape = format.name === 'cbor' ? 'aws-cbor' : 'aws';
        const resolved = resolveTarget(target);
        api = resolved.api;
        operation = resolved.operation;
        // Everything the headers can prove is checked before the body takes any memory (unknown keys, and with a
        // declared x-amz-content-sha256 the signature itself); the whole request is verified once it is read.
        authenticator.verifySigV4Headers({ method, path: url, headers: req.headers });
        const body = await readBody(req, maxAwsBodyBytes);
        authenticator.verifySigV4({ method, path: url, headers: req.headers, body });
        if (!resolved.run) throw unknownOperation(target);
        const reply = await runOperation(aws, resolved.run, body, format);
        if (reply instanceof StreamedReply) await reply.send(res, format, (err) => errorResponse(err, shape, logger, requestId));
        else send(res, 200, { 'content-type': format.contentType }, reply);
      } else if (mounted) {
        api = 'app';
        operation = 'route';
        refuseUnservedMethod(method, url.split('?', 1)[0]!, mounted.methods?.(url.split('?', 1)[0]!) ?? []);
        if (method === 'HEAD') headAsGet(req, res);
        await mounted.handle(req, res);
      } else if (url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?')) {
        const match = matchRoute(method, url);
        operation = match.route;
        // Which methods a path answers is public (docs/openapi.json): a 405 does not wait for the key.
        if (match.route === 'unknown') {
          const notServed = methodNotServed(method, url);
          if (notServed) throw notServed;
        }
        authenticator.verifyBearer(headerString(req.headers.authorization));
        if (match.route === 'tail') metrics.tailOpened();
        try {
          await handleNative(native, req, res, match);
        } finally {
          if (match.route === 'tail') metrics.tailClosed();
        }
      } else {
        const path = url.split('?', 1)[0]!;
        const ops = OPS_ROUTES.find(method, path);
        if (ops) {
          api = 'ops';
          operation = ops.route;
        }
        if (ops?.route === 'health') {
          send(res, ready ? 200 : 503, { 'content-type': 'application/json' }, JSON.stringify(healthBody(ready, shutdown.signal.aborted)));
        } else if (ops?.route === 'metrics') {
          send(res, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }, await registry.renderAsync());
        } else {
          // A path served for other methods, here or by a route module that matches by method, answers 405 with them.
          const opsMethods = OPS_ROUTES.allowed(path);
          const served = ROUTE_METHODS.filter((m) => opsMethods.includes(m) || routes.some((r) => r.matches(m, path)));
          if (served.length > 0) throw methodNotAllowed(method, path, served);
          throw new TollstreamError('NOT_FOUND', `no route ${method} ${path}; the native API is under /v1, the Kinesis and Firehose APIs need X-Amz-Target`);
        }
      }
    } catch (err) {
      if (err instanceof ClientGoneError) {
        status = CLIENT_CLOSED_REQUEST;
        return;
      }
      const r = asResponse(res);
      if (r.headersSent) {
        // A streamed response (tail) failed after it started: all that is left is to end it.
        logger.warn('streamed response failed', { requestId, err: err instanceof Error ? err : String(err) });
        if (!r.writableEnded) r.end();
        return;
      }
      const response = errorResponse(err, shape, logger, requestId);
      // The rest of a body refused or abandoned before its end is not read; the connection cannot be reused.
      if (!req.complete && req.httpVersionMajor === 1) response.headers.connection = 'close';
      send(res, response.status, response.headers, response.body);
    } finally {
      metrics.request(api, operation, status ?? res.statusCode, (performance.now() - started) / 1000);
    }
  }

  /**
   * Shards refusing writes, or a log whose servers cannot be reached, make the server `degraded` but still 200: reads, the other shards and the rest of the
   * API work, and a restart does not mend a disk, so a load balancer or orchestrator should keep the node. Alert
   * on the body or on `tollstream_shard_failed`.
   */
  function healthBody(isReady: boolean, stopping: boolean): Record<string, unknown> {
    if (!isReady) return { status: stopping ? 'stopping' : 'starting' };
    const logHealth = log.health?.();
    const failedShards = logHealth?.failedShards ?? [];
    const logReachable = logHealth?.reachable !== false;
    const leases = options.leases?.();
    const leaseBody = leases ? { leases: { owner: leases.owner, storeReachable: leases.storeReachable, fairShare: leases.fairShare, held: leases.held, owners: leases.owners } } : {};
    if (failedShards.length === 0 && logReachable && leases?.storeReachable !== false) return { status: 'ok', ...leaseBody };
    return {
      status: 'degraded',
      // Cut off from its log's servers (a cluster node from NATS), the node acknowledges no write.
      ...(logReachable ? {} : { log: { reachable: false } }),
      ...(failedShards.length > 0 ? { failedShards: failedShards.map((f) => ({ ...f, since: new Date(f.since).toISOString() })) } : {}),
      ...leaseBody,
    };
  }

  const httpLimits = withinOpenFiles(httpSettings, options.openFilesLimit ?? openFilesLimit(), logger);
  const server = createProtocolServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('request handler failed', { err: err instanceof Error ? err : String(err) });
      try {
        res.destroy();
      } catch {
        // The response is already gone.
      }
    });
  }, logger, httpLimits);
  metrics.watchServer(() => server.stats());

  return {
    metrics: registry,
    listen: (port, host) => server.listen(port, host),
    async close() {
      ready = false;
      metrics.setReady(false);
      shutdown.abort();
      await server.close();
    },
    setReady(value) {
      ready = value;
      metrics.setReady(value);
    },
    routes: () => [...OPS_ROUTES.list().map(({ method, path }) => ({ method, path })), ...nativeRoutes(), ...routes.flatMap((m) => m.routes?.() ?? [])],
  };
}

/**
 * The operation a Kinesis/Firehose request names: its X-Amz-Target header, or in a presigned request the
 * query's X-Amz-Target (the AWS SDK's presigner moves `x-amz-*` headers into the query, which it signs).
 */
function awsTarget(header: string | string[] | undefined, url: string): string | undefined {
  if (typeof header === 'string') return header;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const query = [...new URLSearchParams(url.slice(q + 1))];
  if (!query.some(([name]) => name === 'X-Amz-Signature')) return undefined;
  // Moved from a header, the name keeps the case it had there (lowercase from the SDK's serializers).
  return query.find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1];
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * HEAD on a route module: the module is asked the GET it stands for, so no module handles HEAD itself. Node
 * drops the body of a HEAD answer, and the answer ends with its head, so a stream (server-sent events) answers
 * its headers and stops instead of holding the connection open with nothing to send.
 */
function headAsGet(req: Request, res: Response): void {
  (req as { method: string }).method = 'GET';
  const r = asResponse(res);
  const writeHead = r.writeHead.bind(r);
  const write = r.write.bind(r);
  const end = r.end.bind(r);
  let ended = false;
  r.writeHead = (status, headers) => {
    const written = writeHead(status, headers);
    ended = true;
    end();
    return written;
  };
  // What the module writes after its head has nowhere to go: taken and dropped, as Node drops a HEAD body.
  r.write = (chunk) => (ended ? true : write(chunk));
  r.end = (body) => (ended ? r : end(body));
}
