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
import { intParam, invalidField, onlyFields, operatorRoutes, readJsonObject, send, sendJson, type Request, type Response, type RouteModule } from '../../gateway/index.ts';
import type { StreamLog } from '../../log/index.ts';
import { writeSse, type Notifications, type SseEvent } from '../../notify/index.ts';
import type { TableStore } from '../../tables/index.ts';
import { STREAMS, TABLES, TOPIC, type ListedStationAlert, type StationAlert } from './model.ts';
import { ALERTS_PK, alertSortKey } from './notifier.ts';

export interface OperatorApiOptions {
  readonly log: StreamLog;
  /** The app's tables, the store its functions commit to. */
  readonly store: TableStore;
  readonly notify: Notifications;
  /** Throws UNAUTHORIZED; pass the gateway authenticator's `verifyBearer`. */
  readonly operatorAuth: (authorizationHeader: string | undefined) => void;
  /** Ends open alert streams (server shutdown). */
  readonly shutdown: AbortSignal;
  readonly logger: Logger;
}

const MAX_BODY_BYTES = 16 * 1024;

export function createOperatorApi(options: OperatorApiOptions): RouteModule {
  // The operator routes of the gateway's kit: the key checked first, errors in the native shape.
  return operatorRoutes('/v1/operator', options, [
    { pattern: 'GET /v1/operator/alerts', route: (_req, res, _params, query) => listAlerts(options, res, query) },
    { pattern: 'GET /v1/operator/alerts/stream', route: (req, res) => alertStream(options, req, res) },
    { pattern: 'POST /v1/operator/alerts/acknowledge', route: (req, res) => acknowledge(options, req, res) },
    { pattern: 'GET /v1/operator/subscriptions', route: (_req, res) => listSubscriptions(options, res) },
    { pattern: 'POST /v1/operator/subscriptions', route: (req, res) => subscribe(options, req, res) },
    { pattern: 'DELETE /v1/operator/subscriptions/:id(\\d+)', route: (_req, res, { id }) => unsubscribe(options, res, Number(id)) },
  ], 'the operator routes are listed in docs/station-alerts.md');
}

async function listAlerts(options: OperatorApiOptions, res: Response, query: URLSearchParams): Promise<void> {
  const limit = intParam(query, 'limit', 1, 1000, 100);
  const page = await options.store.query<StationAlert>(TABLES.alerts, ALERTS_PK, { order: 'desc', limit });
  sendJson(res, 200, { alerts: page.items.map((i) => i.value) });
}

/**
 * Marks an alert as seen to. Idempotent: acknowledging it again answers with the first acknowledgement. The
 * alert stream and webhooks are not touched (what was raised stays raised); the listing shows who and when.
 */
async function acknowledge(options: OperatorApiOptions, req: Request, res: Response): Promise<void> {
  const { plaza_id, window_start, by } = onlyFields(await readJsonObject(req, MAX_BODY_BYTES), ['plaza_id', 'window_start', 'by']);
  if (typeof plaza_id !== 'string' || plaza_id === '') throw invalidField('plaza_id', "plaza_id must be the alert's station", plaza_id);
  if (typeof window_start !== 'string' || window_start === '') throw invalidField('window_start', "window_start must be the alert's window_start, as listed", window_start);
  if (by !== undefined && (typeof by !== 'string' || by.length > 64)) throw invalidField('by', 'by must be a name of at most 64 characters', by);
  const key = { pk: ALERTS_PK, sk: alertSortKey({ plaza_id, window_start }) };
  const acknowledged = await options.store.transaction(async (tx) => {
    const item = await tx.get<ListedStationAlert>(TABLES.alerts, key);
    if (!item) throw new TollstreamError('NOT_FOUND', `there is no alert for station ${plaza_id} in the window starting ${window_start}; GET /v1/operator/alerts lists them`, { context: { plaza_id, window_start } });
    if (item.value.acknowledged_at !== undefined) return item.value;
    return (await tx.update<ListedStationAlert>(TABLES.alerts, key, { set: { acknowledged_at: new Date().toISOString(), acknowledged_by: typeof by === 'string' && by !== '' ? by : 'operator' } })).value;
  });
  sendJson(res, 200, { alert: acknowledged });
}

async function listSubscriptions(options: OperatorApiOptions, res: Response): Promise<void> {
  const subscriptions = (await options.notify.listSubscriptions(TOPIC)).map((s) => ({ id: s.id, topic: s.topic, url: s.url, createdAt: new Date(s.createdAt).toISOString() }));
  sendJson(res, 200, { subscriptions });
}

async function unsubscribe(options: OperatorApiOptions, res: Response, id: number): Promise<void> {
  if (!(await options.notify.listSubscriptions(TOPIC)).some((s) => s.id === id)) {
    throw new TollstreamError('NOT_FOUND', `there is no station alert subscription ${id}; GET /v1/operator/subscriptions lists them`, { context: { id } });
  }
  await options.notify.unsubscribe(id);
  send(res, 204, {}, '');
}

async function subscribe(options: OperatorApiOptions, req: Request, res: Response): Promise<void> {
  const { url, secret } = onlyFields(await readJsonObject(req, MAX_BODY_BYTES), ['url', 'secret']);
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) throw invalidField('url', 'url must be an http:// or https:// URL', url);
  // The secret is never echoed back in the error.
  if (typeof secret !== 'string' || secret.length < 16) throw invalidField('secret', 'secret must be a string of 16 characters or more (the webhook signatures are made with it)');
  const subscription = await options.notify.subscribe(TOPIC, { protocol: 'webhook', url, secret });
  sendJson(res, 201, { id: subscription.id, topic: TOPIC, url, createdAt: new Date(subscription.createdAt).toISOString() });
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
