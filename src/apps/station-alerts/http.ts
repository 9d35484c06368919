/**
 * The operator routes of the station alerts (behind the native API key):
 *   GET    /v1/operator/alerts?limit=N         the latest alerts, newest first
 *   GET    /v1/operator/alerts/stream          Server-Sent Events: every alert of the alert stream, then new ones live
 *   POST   /v1/operator/alerts/acknowledge     { plaza_id, window_start, by? }: an operator has seen to the alert
 *   GET    /v1/operator/subscriptions          webhooks subscribed to the `station-alerts` topic
 *   POST   /v1/operator/subscriptions          { url, secret }: subscribe a webhook
 *   DELETE /v1/operator/subscriptions/:id      unsubscribe
 */
import { TollstreamError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { asResponse, ClientGoneError, errorResponse, readBody, send, type Request, type Response, type RouteModule } from '../../gateway/index.ts';
import type { StreamLog } from '../../log/index.ts';
import { writeSse, type Notify, type SseEvent } from '../../notify/index.ts';
import type { Tables } from '../../tables/index.ts';
import { STREAMS, TABLES, TOPIC, type ListedStationAlert, type StationAlert } from './model.ts';
import { ALERTS_PK, alertSortKey } from './notifier.ts';

export interface OperatorApiOptions {
  readonly log: StreamLog;
  readonly tables: Tables;
  readonly notify: Notify;
  /** Throws UNAUTHORIZED; pass the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  /** Ends open alert streams (server shutdown). */
  readonly shutdown: AbortSignal;
  readonly logger: Logger;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const PREFIXES = ['/v1/operator/alerts', '/v1/operator/subscriptions'];
const MAX_BODY_BYTES = 16 * 1024;
let requestCounter = 0;

export function createOperatorApi(options: OperatorApiOptions): RouteModule {
  const dispatch = async (req: Request, res: Response, path: string, query: URLSearchParams): Promise<void> => {
    options.operatorAuth(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
    const method = req.method ?? 'GET';
    if (path === '/v1/operator/alerts' && method === 'GET') return listAlerts(options, res, query);
    if (path === '/v1/operator/alerts/stream' && method === 'GET') return alertStream(options, req, res);
    if (path === '/v1/operator/alerts/acknowledge' && method === 'POST') return acknowledge(options, req, res);
    if (path === '/v1/operator/subscriptions' && method === 'GET') {
      const subscriptions = options.notify.listSubscriptions(TOPIC).map((s) => ({ id: s.id, topic: s.topic, url: s.url, createdAt: new Date(s.createdAt).toISOString() }));
      return send(res, 200, JSON_HEADERS, JSON.stringify({ subscriptions }));
    }
    if (path === '/v1/operator/subscriptions' && method === 'POST') return subscribe(options, req, res);
    const m = /^\/v1\/operator\/subscriptions\/(\d+)$/.exec(path);
    if (m && method === 'DELETE') {
      const id = Number(m[1]);
      if (!options.notify.listSubscriptions(TOPIC).some((s) => s.id === id)) {
        throw new TollstreamError('NOT_FOUND', `there is no station alert subscription ${id}; GET /v1/operator/subscriptions lists them`, { context: { id } });
      }
      options.notify.unsubscribe(id);
      return send(res, 204, {}, '');
    }
    throw new TollstreamError('NOT_FOUND', `no route ${method} ${path}; the operator routes are listed in docs/station-alerts.md`);
  };

  return {
    matches: (_method, path) => PREFIXES.some((p) => path === p || path.startsWith(`${p}/`)),
    async handle(req, res) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      try {
        await dispatch(req, res, q < 0 ? url : url.slice(0, q), new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
      } catch (err) {
        if (err instanceof ClientGoneError) return;
        const r = asResponse(res);
        if (r.headersSent) {
          if (!r.writableEnded) r.end();
          return;
        }
        const answer = errorResponse(err, 'native', options.logger, `station-${(requestCounter++).toString(36)}`);
        send(res, answer.status, answer.headers, answer.body);
      }
    },
  };
}

function listAlerts(options: OperatorApiOptions, res: Response, query: URLSearchParams): void {
  const limitText = query.get('limit') ?? '100';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new TollstreamError('INVALID_ARGUMENT', `limit must be an integer from 1 to 1000, got '${limitText}'`, { context: { parameter: 'limit' } });
  }
  const page = options.tables.query<StationAlert>(TABLES.alerts, ALERTS_PK, { order: 'desc', limit });
  send(res, 200, JSON_HEADERS, JSON.stringify({ alerts: page.items.map((i) => i.value) }));
}

/** The request body as a JSON object; `shape` names its fields in the error. */
async function readObject(req: Request, shape: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, MAX_BODY_BYTES)).toString('utf8'));
  } catch (err) {
    if (err instanceof ClientGoneError || err instanceof TollstreamError) throw err;
    throw new TollstreamError('MALFORMED_REQUEST', `the body is not valid JSON (${(err as Error).message})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new TollstreamError('MALFORMED_REQUEST', `the body must be a JSON object ${shape}`);
  return body as Record<string, unknown>;
}

/**
 * Marks an alert as seen to. Idempotent: acknowledging it again answers with the first acknowledgement. The
 * alert stream and webhooks are not touched (what was raised stays raised); the listing shows who and when.
 */
async function acknowledge(options: OperatorApiOptions, req: Request, res: Response): Promise<void> {
  const { plaza_id, window_start, by, ...rest } = await readObject(req, '{ plaza_id, window_start, by? }');
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new TollstreamError('INVALID_ARGUMENT', `unknown field '${unknown}'; allowed: plaza_id, window_start, by`, { context: { field: unknown } });
  if (typeof plaza_id !== 'string' || plaza_id === '') throw new TollstreamError('INVALID_ARGUMENT', 'plaza_id must be the alert\'s station', { context: { field: 'plaza_id' } });
  if (typeof window_start !== 'string' || window_start === '') throw new TollstreamError('INVALID_ARGUMENT', "window_start must be the alert's window_start, as listed", { context: { field: 'window_start' } });
  if (by !== undefined && (typeof by !== 'string' || by.length > 64)) throw new TollstreamError('INVALID_ARGUMENT', 'by must be a name of at most 64 characters', { context: { field: 'by' } });
  const key = { pk: ALERTS_PK, sk: alertSortKey({ plaza_id, window_start }) };
  const acknowledged = options.tables.transaction((tx) => {
    const item = tx.get<ListedStationAlert>(TABLES.alerts, key);
    if (!item) throw new TollstreamError('NOT_FOUND', `there is no alert for station ${plaza_id} in the window starting ${window_start}; GET /v1/operator/alerts lists them`, { context: { plaza_id, window_start } });
    if (item.value.acknowledged_at !== undefined) return item.value;
    return tx.update<ListedStationAlert>(TABLES.alerts, key, { set: { acknowledged_at: new Date().toISOString(), acknowledged_by: typeof by === 'string' && by !== '' ? by : 'operator' } }).value;
  });
  send(res, 200, JSON_HEADERS, JSON.stringify({ alert: acknowledged }));
}

async function subscribe(options: OperatorApiOptions, req: Request, res: Response): Promise<void> {
  const { url, secret, ...rest } = await readObject(req, '{ url, secret }');
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new TollstreamError('INVALID_ARGUMENT', `unknown field '${unknown}'; allowed: url, secret`, { context: { field: unknown } });
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) throw new TollstreamError('INVALID_ARGUMENT', 'url must be an http:// or https:// URL', { context: { field: 'url' } });
  if (typeof secret !== 'string' || secret.length < 16) {
    throw new TollstreamError('INVALID_ARGUMENT', 'secret must be a string of 16 characters or more (the webhook signatures are made with it)', { context: { field: 'secret' } });
  }
  const subscription = options.notify.subscribe(TOPIC, { protocol: 'webhook', url, secret });
  send(res, 201, JSON_HEADERS, JSON.stringify({ id: subscription.id, topic: TOPIC, url, createdAt: new Date(subscription.createdAt).toISOString() }));
}

/**
 * Follows the alert stream (one shard): every retained alert, then each new one as it is appended. The SSE
 * id is the record's sequence number, so a reconnect with `Last-Event-ID` resumes right after it.
 */
async function alertStream(options: OperatorApiOptions, req: Request, res: Response): Promise<void> {
  const description = await options.log.describeStream(STREAMS.alerts);
  const shard = description.shards.find((s) => s.endingSequenceNumber === undefined) ?? description.shards[0];
  if (!shard) throw new TollstreamError('INTERNAL', `the stream ${STREAMS.alerts} has no shard`);
  const lastId = req.headers['last-event-id'];
  const from = typeof lastId === 'string' && /^\d+$/.test(lastId) ? ({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lastId } as const) : ({ type: 'TRIM_HORIZON' } as const);
  const source = async function* (signal: AbortSignal): AsyncIterable<SseEvent> {
    const subscription = options.log.subscribe(STREAMS.alerts, shard.shardId, from, { signal });
    try {
      for await (const batch of subscription) {
        for (const record of batch.records) yield { id: record.sequenceNumber, event: 'alert', data: Buffer.from(record.data).toString('utf8') };
      }
    } finally {
      subscription.close();
    }
  };
  await writeSse(res as Parameters<typeof writeSse>[0], source, { signal: options.shutdown, retryMs: 3000 });
}
