/**
 * The station traffic alerts inside the server: their own tables and notifications in
 * `<dataDir>/station-alerts.db` (apart from the spending alerts, so either runs without the other), a
 * functions runtime for their three mappings, the shipped query in the server's query manager, and the
 * operator routes as a gateway route module. Steps to undo are pushed on `undo` (stopped in reverse order).
 */
import path from 'node:path';
import { appendStationReference, createOperatorApi, readReferenceFile, startStationAlerts } from '../apps/station-alerts/index.ts';
import type { TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { FunctionsRuntime } from '../functions/index.ts';
import type { Authenticator, RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { Registry } from '../metrics/index.ts';
import { openNotify } from '../notify/index.ts';
import type { QueryManager } from '../queries/index.ts';
import { openTables, sqliteTableStore } from '../tables/index.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';

export interface RunningStationAlerts {
  /** The operator routes (`/v1/operator/alerts`, `/v1/operator/subscriptions`), for the gateway to mount. */
  readonly routes: RouteModule;
  /** Ends open alert streams; call before closing the gateway, which waits for open requests. */
  endStreams(): void;
}

export async function startStations(
  deps: { log: StreamLog; config: TollstreamConfig; queries: QueryManager; authenticator: Authenticator; metrics: Registry; consumers: ConsumerMetrics; logger: Logger },
  undo: Array<() => Promise<void> | void>,
): Promise<RunningStationAlerts | undefined> {
  const { log, config, queries, authenticator, metrics, logger } = deps;
  const transactions = config.delivery.stream;
  if (!(await log.listStreams()).some((s) => s.name === transactions)) {
    logger.warn(`station alerts count the stream '${transactions}' (delivery.stream), which does not exist, so they are off; declare it in streams (or create it) and restart`, { stream: transactions });
    return undefined;
  }
  const tables = openTables({ path: path.join(config.dataDir, 'station-alerts.db'), logger: logger.child({ component: 'tables' }), refuseLostFile: true });
  undo.unshift(() => tables.close());
  const notify = openNotify({ tables, logger });
  undo.unshift(() => notify.stop());
  const functions = new FunctionsRuntime({ log, store: sqliteTableStore(tables), logger: logger.child({ component: 'functions' }) });
  undo.unshift(() => functions.stop());

  // The reference file of the config goes to the stream too, so the query judges by what the warehouse holds.
  const file = config.reference.stationsFile;
  if (file !== undefined) await appendStationReference(log, await readReferenceFile(file));

  const alerts = await startStationAlerts({
    log,
    tables,
    notify,
    functions,
    queries,
    logger,
    config: {
      windowMinutes: config.stationAlerts.windowMinutes,
      defaultExpected: config.stationAlerts.defaultExpected,
      defaultThreshold: config.stationAlerts.defaultThreshold,
      transactionsStream: config.delivery.stream,
      webhooks: config.stationAlerts.webhooks,
    },
  });
  undo.unshift(() => alerts.stop());
  notify.start();
  // Their functions show with the others in /metrics and the console, their notifications in the notify gauges.
  deps.consumers.addFunctions(functions);
  deps.consumers.addNotify('station-alerts', notify);

  const shutdown = new AbortController();
  const routes = createOperatorApi({
    log,
    tables,
    notify,
    operatorAuth: (header) => authenticator.verifyBearer(header),
    shutdown: shutdown.signal,
    logger: logger.child({ component: 'operator-api' }),
  });
  const raised = metrics.counter('tollstream_station_alerts_raised_total', 'Station traffic alerts raised since start.');
  const silent = metrics.counter('tollstream_station_alerts_silent_windows_total', 'Station windows without any vehicle flagged since start.');
  metrics.onCollect(() => {
    const s = alerts.stats();
    raised.reset();
    silent.reset();
    raised.labels().inc(s.alertsRaised);
    silent.labels().inc(s.silentWindowsFlagged);
  });
  return { routes, endStreams: () => shutdown.abort() };
}
