/**
 * `startStationAlerts`: wires the station traffic alerts onto a running log, tables, notifications,
 * functions runtime and query manager. It creates what is missing (streams, tables, the operator topic and
 * the configured webhooks), creates the shipped query, and starts the three mappings:
 *
 *   toll_transactions --query--> station_window_counts --evaluator--> station_alerts_candidates (silent windows)
 *                           \--> station_alerts_candidates (below threshold) --notifier--> topic + station_alerts
 *   station_reference --reference mirror--> the evaluator's reference table
 */
import { TollstreamError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { FunctionsRuntime } from '../../functions/index.ts';
import { ensureStream, type StreamConfig, type StreamLog } from '../../log/index.ts';
import type { Notifications } from '../../notify/index.ts';
import type { QueryManager } from '../../queries/index.ts';
import type { TableStore } from '../../tables/index.ts';
import { evaluatorHandler, referenceMirrorHandler, type EvaluatorStats } from './evaluator.ts';
import { ensureTables, STREAMS, TOPIC } from './model.ts';
import { notifierHandler, type NotifierStats } from './notifier.ts';
import { ensureStationQuery, renderStationQuery, QUERY_NAME } from './query.ts';
import { ensureReferenceStream, REFERENCE_RETENTION_HOURS } from './reference-stream.ts';

export interface StationAlertsConfig {
  /** Length of a counted window, in minutes; divides a day, and divides or is a multiple of 30. @default 30 */
  readonly windowMinutes?: number;
  /** Expected vehicles of a station slot without a reference row. @default 0 */
  readonly defaultExpected?: number;
  /** Alert threshold of a station slot without a reference row; 0 never alerts. @default 0 */
  readonly defaultThreshold?: number;
  /** @default 'toll_transactions' */
  readonly transactionsStream?: string;
  /** How long after a window's end a late vehicle still counts in it, in seconds (the query's watermark delay). @default 60 */
  readonly latenessSeconds?: number;
  /** Webhooks subscribed to the operator topic at start (when not subscribed yet). @default [] */
  readonly webhooks?: readonly { readonly url: string; readonly secret: string }[];
  /** Per station, at most this many silent windows are flagged after a jump in event time. @default 48 */
  readonly maxSilentWindows?: number;
}

export interface StationAlertsDeps {
  readonly log: StreamLog;
  /** The tables of the app's state (SQLite or PostgreSQL): the store `functions` commits to. */
  readonly store: TableStore;
  readonly notify: Notifications;
  readonly functions: FunctionsRuntime;
  readonly queries: QueryManager;
  readonly config?: StationAlertsConfig;
  readonly logger?: Logger;
}

export interface StationAlertsStats extends EvaluatorStats, NotifierStats {}

export interface StationAlerts {
  readonly query: string;
  readonly mappings: readonly string[];
  stats(): StationAlertsStats;
  /** Stops the mappings; the query keeps running in its manager (it is the manager's to stop). */
  stop(): Promise<void>;
}

const MAPPINGS = { reference: 'station-alerts-reference', evaluator: 'station-alerts-evaluator', notifier: 'station-alerts-notifier' } as const;
const BATCH_SIZE = 500;

export async function startStationAlerts(deps: StationAlertsDeps): Promise<StationAlerts> {
  const { log, store, notify, functions, queries } = deps;
  const logger = (deps.logger ?? silentLogger).child({ component: 'station-alerts' });
  const config = deps.config ?? {};
  const windowMinutes = config.windowMinutes ?? 30;
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || 1440 % windowMinutes !== 0 || (30 % windowMinutes !== 0 && windowMinutes % 30 !== 0)) {
    throw new TollstreamError('CONFIG_INVALID', `stationAlerts.windowMinutes must divide a day and divide (or be a multiple of) 30, e.g. 15, 30 or 60; got ${windowMinutes}`, {
      context: { key: 'stationAlerts.windowMinutes' },
    });
  }
  const windowMs = windowMinutes * 60_000;
  const defaultExpected = config.defaultExpected ?? 0;
  const defaultThreshold = config.defaultThreshold ?? 0;
  const sql = renderStationQuery({
    transactionsStream: config.transactionsStream ?? 'toll_transactions',
    windowMinutes,
    defaultExpected,
    defaultThreshold,
    latenessSeconds: config.latenessSeconds ?? 60,
  });

  await ensureTables(store);
  await notify.createTopic(TOPIC, { kind: 'standard', ifNotExists: true });
  const subscribed = new Set((await notify.listSubscriptions(TOPIC)).map((s) => s.url));
  for (const hook of config.webhooks ?? []) {
    if (subscribed.has(hook.url)) continue;
    await notify.subscribe(TOPIC, { protocol: 'webhook', url: hook.url, secret: hook.secret });
    logger.info('subscribed a webhook to station alerts', { url: hook.url });
  }

  await ensureReferenceStream(log);
  const reference = await log.describeStream(STREAMS.reference);
  if (reference.retentionHours < REFERENCE_RETENTION_HOURS) {
    logger.warn('the station_reference stream keeps records for less than a year: after a restart, keys not loaded again within its retention fall back to the defaults', {
      stream: STREAMS.reference,
      retentionHours: reference.retentionHours,
    });
  }
  // One shard each: the evaluator relies on the counts arriving in the order the query emits them.
  const keyed: StreamConfig = { shardCount: 1, dedupe: { mode: 'key', windowSeconds: 86_400 } };
  for (const stream of [STREAMS.counts, STREAMS.candidates, STREAMS.alerts]) await ensureOneShardStream(log, stream, keyed, logger);
  await ensureStationQuery(queries, sql, logger);

  const warn = (message: string, fields: Record<string, unknown>) => logger.warn(message, fields);
  const evaluatorStats: EvaluatorStats = { windowsCounted: 0, silentWindowsFlagged: 0, silentWindowsSkipped: 0, recordsInvalid: 0 };
  const notifierStats: NotifierStats = { alertsRaised: 0, recordsInvalid: 0 };
  const started: string[] = [];
  try {
    await functions.start({ name: MAPPINGS.reference, stream: STREAMS.reference, handler: referenceMirrorHandler(warn), batchSize: BATCH_SIZE, startingPosition: 'TRIM_HORIZON' });
    started.push(MAPPINGS.reference);
    await functions.start({
      name: MAPPINGS.evaluator,
      stream: STREAMS.counts,
      handler: evaluatorHandler({ log, windowMs, defaultExpected, defaultThreshold, maxSilentWindows: config.maxSilentWindows ?? 48, stats: evaluatorStats, warn }),
      batchSize: BATCH_SIZE,
      startingPosition: 'TRIM_HORIZON',
    });
    started.push(MAPPINGS.evaluator);
    await functions.start({ name: MAPPINGS.notifier, stream: STREAMS.candidates, handler: notifierHandler({ log, stats: notifierStats, warn }), batchSize: BATCH_SIZE, startingPosition: 'TRIM_HORIZON' });
    started.push(MAPPINGS.notifier);
  } catch (err) {
    for (const name of started) await functions.stop(name);
    throw err;
  }
  logger.info('station alerts running', { query: QUERY_NAME, windowMinutes, defaultExpected, defaultThreshold, topic: TOPIC });
  return {
    query: QUERY_NAME,
    mappings: started,
    stats: () => ({ ...evaluatorStats, ...notifierStats, recordsInvalid: evaluatorStats.recordsInvalid + notifierStats.recordsInvalid }),
    stop: async () => {
      for (const name of started) await functions.stop(name);
    },
  };
}

async function ensureOneShardStream(log: StreamLog, name: string, config: StreamConfig, logger: Logger): Promise<void> {
  const stream = await ensureStream(log, name, config);
  if (stream.shards.filter((s) => s.endingSequenceNumber === undefined).length !== 1) {
    logger.warn('a station alerts stream has more than one shard: windows may be judged out of order', { stream: name });
  }
}
