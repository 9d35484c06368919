/**
 * The station traffic alerts as an app of the server (`stationAlerts` section of the config): their own tables,
 * notifications and functions runtime for their three mappings (`station-alerts`: `<dataDir>/station-alerts.db`
 * on one node, apart from the spending alerts so either runs without the other; see AppContext.openStores), the shipped query in the server's query manager,
 * the station reference data (a warehouse table, followed into its stream) with the report over it, and the
 * operator routes as a route module.
 */
import type { App, AppContext, RunningApp, Undo } from '../../app-contract/index.ts';
import { TOLL_TRANSACTIONS, tollTransactionsStream } from '../../simulator/index.ts';
import { createOperatorApi } from './http.ts';
import { startStationAlerts } from './pipeline.ts';
import { appendStationReference, readReferenceFile } from './reference-stream.ts';
import { stationReference } from './reference-table.ts';
import { STATION_ALERTS_PAGES } from './pages.ts';
import { STATION_REPORTS } from './reports.ts';
import { STATION_ALERTS_SECTION, STATION_REFERENCE_SECTION, stationAlertsSettings, stationReferenceFile } from './settings.ts';

const RAISED_METRIC = 'tollstream_station_alerts_raised_total';

export const stationAlertsApp: App = {
  name: 'station-alerts',
  configSection: [STATION_ALERTS_SECTION, STATION_REFERENCE_SECTION],
  enabled: (config) => stationAlertsSettings(config).enabled,
  // The tolls it counts, where producers write them (as the spending alerts declare them, so either runs alone),
  // and the table the server delivers them into, which its report reads.
  streams: (config) => [tollTransactionsStream(config.delivery.stream)],
  warehouseTables: [TOLL_TRANSACTIONS],
  referenceData: (config, log) => [stationReference(config, log)],
  reports: STATION_REPORTS,
  web: STATION_ALERTS_PAGES,
  // The console's History page charts the alerts raised.
  historySeries: [{ name: RAISED_METRIC, by: [] }],
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
  // Apart from the spending alerts' stores, so either runs without the other; the server says where they are.
  const { store, notify, functions } = await ctx.openStores('station-alerts', undo);

  // The reference file of the config goes to the stream too, so the query judges by what the warehouse holds.
  const file = stationReferenceFile(config);
  if (file !== undefined) await appendStationReference(log, await readReferenceFile(file));

  const settings = stationAlertsSettings(config);
  const alerts = await startStationAlerts({
    log,
    store,
    notify,
    functions,
    queries,
    logger,
    config: {
      windowMinutes: settings.windowMinutes,
      defaultExpected: settings.defaultExpected,
      defaultThreshold: settings.defaultThreshold,
      transactionsStream: config.delivery.stream,
      webhooks: settings.webhooks,
    },
  });
  undo.unshift(() => alerts.stop());
  notify.start();

  const shutdown = new AbortController();
  const routes = createOperatorApi({
    log,
    store,
    notify,
    operatorAuth: (header) => authenticator.verifyBearer(header),
    shutdown: shutdown.signal,
    logger: logger.child({ component: 'operator-api' }),
  });
  const raised = metrics.counter(RAISED_METRIC, 'Station traffic alerts raised since start.');
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
