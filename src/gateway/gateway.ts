/**
 * The gateway: one request handler for the Kinesis and Firehose JSON APIs (by `X-Amz-Target`), the native
 * API (/v1), /health and /metrics, served over HTTP/1.1 and HTTP/2 on one port.
 */
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { StreamLog } from '../log/index.ts';
import type { QueryManager } from '../queries/index.ts';
import type { Warehouse } from '../warehouse/index.ts';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '../metrics/index.ts';
import type { Authenticator } from './auth/index.ts';
import type { AwsContext } from './aws/context.ts';
import { resolveTarget, runOperation, unknownOperation } from './aws/dispatch.ts';
import { createIteratorCodec } from './aws/iterators.ts';
import { errorResponse } from './errors.ts';
import { ClientGoneError, asResponse, readBody, send, type Request, type Response, type RouteModule } from './http.ts';
import { createGatewayMetrics } from './metrics.ts';
import { handleNative, matchRoute, type NativeContext } from './native/routes.ts';
import { QuerySlots, type QuerySlotLimits } from './native/query-slots.ts';
import { createProtocolServer } from './server.ts';

export interface GatewayOptions {
  readonly log: StreamLog;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Where the gateway registers its metrics; /metrics renders this registry. @default a new Registry */
  readonly metrics?: Registry;
  /** Serves `/v1/reports`, `/v1/warehouse/query` and `/v1/reference/stations`; absent, they answer 503. @default none */
  readonly warehouse?: Warehouse;
  /** Warehouse queries (SQL and reports) running at once: per caller, and in all. @default 2 per caller, 8 in all */
  readonly warehouseQueries?: QuerySlotLimits;
  /** Serves `/v1/queries` (continuous SQL on the log); absent, those routes answer 404. @default none */
  readonly queries?: QueryManager;
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
  /** The clock for shard iterator expiry, ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Whether /health answers 200 from the start. @default false (call `setReady(true)` once started) */
  readonly ready?: boolean;
}

export interface Gateway {
  /** Binds the one port (0 for a random one) and resolves with the bound port. */
  listen(port: number, host: string): Promise<{ port: number }>;
  /** Stops accepting, ends keep-alive connections, HTTP/2 sessions and tails, and waits for in-flight requests. */
  close(): Promise<void>;
  /** /health answers 200 when ready, 503 otherwise. */
  setReady(ready: boolean): void;
  readonly metrics: Registry;
}

const AWS_JSON = { 'content-type': 'application/x-amz-json-1.1' };
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

  // Random partition keys: a per-process prefix and a counter; the log's MD5 spreads them evenly over shards.
  const keyPrefix = crypto.randomBytes(6).toString('hex');
  let keyCounter = 0;
  const randomPartitionKey = () => `${keyPrefix}-${(keyCounter++).toString(36)}`;
  const requestPrefix = crypto.randomBytes(4).toString('hex');
  let requestCounter = 0;

  const aws: AwsContext = {
    log,
    iterators: createIteratorCodec(options.iteratorSecret ?? crypto.randomBytes(32), options.now),
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    randomPartitionKey,
  };
  const native: NativeContext = { log, logger, maxBodyBytes: maxNativeBodyBytes, randomPartitionKey, shutdown: shutdown.signal, warehouse: options.warehouse, queries: options.queries, querySlots: new QuerySlots(options.warehouseQueries ?? { perCaller: 2, total: 8 }) };

  async function handle(req: Request, res: Response): Promise<void> {
    const started = performance.now();
    const requestId = `${requestPrefix}-${(requestCounter++).toString(36)}`;
    asResponse(res).setHeader('x-amzn-requestid', requestId);
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const target = req.headers['x-amz-target'];
    let api = 'native';
    let operation = 'unknown';
    let shape: 'aws' | 'native' = 'native';
    let status: number | undefined;
    const mounted = typeof target === 'string' || routes.length === 0 ? undefined : routes.find((m) => m.matches(method, url.split('?', 1)[0]!));
    try {
      if (typeof target === 'string') {
        shape = 'aws';
        const resolved = resolveTarget(target);
        api = resolved.api;
        operation = resolved.operation;
        const body = await readBody(req, maxAwsBodyBytes);
        authenticator.verifySigV4({ method, path: url, headers: req.headers, body });
        if (!resolved.run) throw unknownOperation(target);
        send(res, 200, AWS_JSON, await runOperation(aws, resolved.run, body));
      } else if (mounted) {
        api = 'app';
        operation = 'route';
        await mounted.handle(req, res);
      } else if (url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?')) {
        const match = matchRoute(method, url);
        operation = match.route;
        authenticator.verifyBearer(headerString(req.headers.authorization));
        if (match.route === 'tail') metrics.tailOpened();
        try {
          await handleNative(native, req, res, match);
        } finally {
          if (match.route === 'tail') metrics.tailClosed();
        }
      } else if (method === 'GET' && (url === '/health' || url.startsWith('/health?'))) {
        api = 'ops';
        operation = 'health';
        send(res, ready ? 200 : 503, { 'content-type': 'application/json' }, JSON.stringify({ status: ready ? 'ok' : shutdown.signal.aborted ? 'stopping' : 'starting' }));
      } else if (method === 'GET' && (url === '/metrics' || url.startsWith('/metrics?'))) {
        api = 'ops';
        operation = 'metrics';
        send(res, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }, await registry.renderAsync());
      } else {
        throw new TollstreamError('NOT_FOUND', `no route ${method} ${url.split('?')[0]}; the native API is under /v1, the Kinesis and Firehose APIs need X-Amz-Target`);
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
      // The rest of an oversized body is not read; the connection cannot be reused.
      if (isTollstreamError(err, 'PAYLOAD_TOO_LARGE') && req.httpVersionMajor === 1) response.headers.connection = 'close';
      send(res, response.status, response.headers, response.body);
    } finally {
      metrics.request(api, operation, status ?? res.statusCode, (performance.now() - started) / 1000);
    }
  }

  const server = createProtocolServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('request handler failed', { err: err instanceof Error ? err : String(err) });
      try {
        res.destroy();
      } catch {
        // The response is already gone.
      }
    });
  }, logger);

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
  };
}

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
