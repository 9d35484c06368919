/**
 * What stream functions share inside the server: tables and notifications in `<dataDir>/tables.db`, one
 * functions runtime (the functions of the apps on these shared stores and the deployed ones, so `/metrics`
 * counts them all), and the deployed functions with their HTTP routes (`/v1/functions`, `/v1/tables`). Steps to undo go on `undo`.
 */
import path from 'node:path';
import type { TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { bundleHandler, FunctionDeployments, FunctionLogs, FunctionsRuntime } from '../functions/index.ts';
import { createFunctionsApi, createTablesApi, type Authenticator, type RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import { openNotify, type MirrorOptions, type Notify, type NotifyOptions } from '../notify/index.ts';
import { openTables, sqliteTableStore, type Tables, type TableStore } from '../tables/index.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';

export interface FunctionsState {
  readonly tables: Tables;
  /** `tables` through the asynchronous door: the functions runtime and the apps' state use this one. */
  readonly store: TableStore;
  readonly notify: Notify;
  readonly functions: FunctionsRuntime;
  readonly logs: FunctionLogs;
  readonly tablesPath: string;
}

export function openFunctionsState(
  deps: {
    log: StreamLog;
    config: TollstreamConfig;
    logger: Logger;
    consumers: ConsumerMetrics;
    mirror?: MirrorOptions | undefined;
    /** How notifications leave besides the inbox and webhooks (an app's Web Push and email). */
    notifyOptions?: Pick<NotifyOptions, 'webPush' | 'email' | 'render'> | undefined;
  },
  undo: Array<() => Promise<void> | void>,
): FunctionsState {
  const { log, config, logger } = deps;
  const tablesPath = path.join(config.dataDir, 'tables.db');
  // tables.db holds what the log cannot give back (customers, subscriptions, the outbox): never start it empty by accident.
  const tables = openTables({ path: tablesPath, logger: logger.child({ component: 'tables' }), refuseLostFile: true });
  undo.unshift(() => tables.close());
  const notify = openNotify({ tables, logger, ...deps.notifyOptions, ...(deps.mirror ? { mirror: deps.mirror } : {}) });
  undo.unshift(() => notify.stop());
  const logs = new FunctionLogs();
  // Each mapping works the shards whose lease this node holds (work-leases.ts).
  const store = sqliteTableStore(tables);
  const functions = new FunctionsRuntime({ log, store, shards: 'assigned', logger: logs.capture(logger.child({ component: 'functions' })) });
  undo.unshift(() => functions.stop());
  // Counted in /metrics with every other runtime's functions; its dead letters are listed as the store `functions`.
  deps.consumers.addFunctions(functions);
  deps.consumers.addNotify('functions', notify);
  return { tables, store, notify, functions, logs, tablesPath };
}

/** Starts the deployed functions (stored ones, then the config file's) and returns their routes for the gateway. */
export async function startDeployedFunctions(
  deps: { state: FunctionsState; config: TollstreamConfig; authenticator: Authenticator; logger: Logger },
  undo: Array<() => Promise<void> | void>,
): Promise<RouteModule[]> {
  const { state, config, authenticator } = deps;
  const logger = deps.logger.child({ component: 'functions' });
  const deployments = new FunctionDeployments({
    dir: path.join(config.dataDir, 'functions'),
    tablesPath: state.tablesPath,
    tables: state.tables,
    runtime: state.functions,
    logs: state.logs,
    onCommit: () => state.notify.wake(),
    ...(config.cluster ? { clusterNode: config.cluster.nodeName } : {}),
    logger,
  });
  undo.unshift(() => deployments.close());
  await deployments.open();
  const declared = [];
  for (const { name, stream, handler, ...settings } of config.functions.deploy) declared.push({ name, stream, handler, settings, code: await bundleHandler(handler) });
  await deployments.reconcile(declared);
  state.notify.start();
  const routeOptions = { operatorAuth: (header: string | undefined) => authenticator.verifyBearer(header), logger };
  logger.info('deployed functions running', { functions: deployments.list().map((f) => `${f.name} (${f.state})`) });
  return [createFunctionsApi(deployments, routeOptions), createTablesApi(state.tables, routeOptions)];
}
