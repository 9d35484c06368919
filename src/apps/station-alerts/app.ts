/**
 * The station traffic alerts as an app of the server (`stationAlerts` section of the config): their own tables
 * and notifications in `<dataDir>/station-alerts.db` (apart from the spending alerts, so either runs without
 * the other), a functions runtime for their three mappings, the shipped query in the server's query manager,
 * the station reference data (a warehouse table, followed into its stream) with the report over it, and the
 * operator routes as a route module.
 */
import path from 'node:path';
import type { App, AppContext, RunningApp, Undo } from '../../app-contract/index.ts';
import { FunctionsRuntime } from '../../functions/index.ts';
import { openNotify } from '../../notify/index.ts';
import { openTables, sqliteTableStore } from '../../tables/index.ts';
import { createOperatorApi } from './http.ts';
import { startStationAlerts } from './pipeline.ts';
import { appendStationReference, readReferenceFile } from './reference-stream.ts';
import { stationReference } from './reference-table.ts';
import { STATION_REPORTS } from './reports.ts';

export const stationAlertsApp: App = {
  name: 'station-alerts',
  configSection: 'stationAlerts',
  enabled: (config) => config.stationAlerts.enabled,
  referenceData: (config, log) => [stationReference(config, log)],
  reports: STATION_REPORTS,
  prepare: () => ({ start: (ctx, undo) => startStations(ctx, undo) }),
};

async function startStations(ctx: AppContext, undo: Undo): Promise<RunningApp | undefined> {
  const { log, config, queries, authenticator, metrics, logger } = ctx;
  if (queries === undefined) {
    logger.warn('station traffic alerts need queries.enabled; they are off (set stationAlerts.enabled: false to silence this)');
    return undefined;
  }
  const transactions = config.delivery.stream;
  if (!(await log.listStreams()).some((s) => s.name === transactions)) {
    logger.warn(`station alerts count the stream '${transactions}' (delivery.stream), which does not exist, so they are off; declare it in streams (or create it) and restart`, { stream: transactions });
    return undefined;
  }
  const tables = openTables({ path: path.join(config.dataDir, 'station-alerts.db'), logger: logger.child({ component: 'tables' }), refuseLostFile: true });
  undo.unshift(() => tables.close());
  const notify = openNotify({ tables, logger });
  undo.unshift(() => notify.stop());
  const store = sqliteTableStore(tables);
  const functions = new FunctionsRuntime({ log, store, logger: logger.child({ component: 'functions' }) });
  undo.unshift(() => functions.stop());

  // The reference file of the config goes to the stream too, so the query judges by what the warehouse holds.
  const file = config.reference.stationsFile;
  if (file !== undefined) await appendStationReference(log, await readReferenceFile(file));

  const alerts = await startStationAlerts({
    log,
    store,
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
  ctx.consumers.addFunctions(functions);
  ctx.consumers.addNotify('station-alerts', notify);

  const shutdown = new AbortController();
  const routes = createOperatorApi({
    log,
    store,
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
  return { routes: [routes], endStreams: () => shutdown.abort() };
}
