/**
 * What stream functions share inside the server: tables and notifications in `<dataDir>/tables.db`, one
 * functions runtime (the functions of the apps on these shared stores and the deployed ones, so `/metrics`
 * counts them all), and the deployed functions with their HTTP routes (`/v1/functions`, `/v1/tables`). Steps to undo go on `undo`.
 *
 * On a node of a cluster the deployed functions' definitions and the shared tables and checkpoints of the apps and
 * the deployed functions are in PostgreSQL
 * (`cluster.postgresUrl`, schema `tollstream_functions`), shared by the nodes, on a runtime of their own whose
 * commits are fenced by the shards' leases (docs/cluster.md). The notifications are the ones the nodes share in
 * PostgreSQL (schema `tollstream_notify`): functions on PostgreSQL publish into their outbox in their commits, and
 * what is published in `tables.db` is carried on to them.
 */
import path from 'node:path';
import { leaseTimings, type TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { bundleHandler, FunctionDeployments, FunctionLogs, FunctionsRuntime, SharedDefinitions } from '../functions/index.ts';
import { createFunctionsApi, createTablesApi, type Authenticator, type RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import { forwardingNotifications, NOTIFY_POSTGRES_SCHEMA, openNotify, type MirrorOptions, type Notifications, type NotifyOptions, type PostgresNotify } from '../notify/index.ts';
import { openTables, sqliteTableStore, type Tables, type TableStore } from '../tables/index.ts';
import { LEASE_SCHEMA, openClusterStores, type ClusterStores } from './app-stores.ts';
import { TollstreamError } from '../core/errors.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';

/** The schema, in `cluster.postgresUrl`, of the tables that deployed functions share on a cluster. */
export const SHARED_FUNCTIONS_SCHEMA = 'tollstream_functions';

export interface FunctionsState {
  readonly tables: Tables;
  /** `tables` through the asynchronous door: the functions runtime and the apps' state use this one. */
  readonly store: TableStore;
  /** The node's own notifications in `tables.db`, or on a cluster the ones the nodes share. */
  readonly notify: Notifications;
  readonly functions: FunctionsRuntime;
  readonly logs: FunctionLogs;
  readonly tablesPath: string;
}

export async function openFunctionsState(
  deps: {
    log: StreamLog;
    config: TollstreamConfig;
    logger: Logger;
    consumers: ConsumerMetrics;
    mirror?: MirrorOptions | undefined;
    /** How notifications leave besides the inbox and webhooks (an app's Web Push and email). */
    notifyOptions?: Pick<NotifyOptions, 'webPush' | 'email' | 'render'> | undefined;
    /** On a cluster node: this node's one instance of the shared notifications (opened with `mirror` and `notifyOptions`). */
    sharedNotify?: (() => Promise<PostgresNotify>) | undefined;
  },
  undo: Array<() => Promise<void> | void>,
): Promise<FunctionsState> {
  const { log, config, logger } = deps;
  const tablesPath = path.join(config.dataDir, 'tables.db');
  // tables.db holds what the log cannot give back (customers, subscriptions, the outbox): never start it empty by accident.
  const tables = openTables({ path: tablesPath, logger: logger.child({ component: 'tables' }), refuseLostFile: true });
  undo.unshift(() => tables.close());
  const senders = { ...deps.notifyOptions, ...(deps.mirror ? { mirror: deps.mirror } : {}) };
  let notify: Notifications;
  if (config.cluster) {
    if (!deps.sharedNotify) throw new TollstreamError('INTERNAL', 'a cluster node opens its stores with its shared notifications');
    // tables.db transactions keep their tx.publish; what they publish is carried on to the shared notifications.
    const local = openNotify({ tables, logger, retry: config.notify.retry });
    notify = forwardingNotifications({ local, tables, shared: await deps.sharedNotify(), logger });
  } else {
    notify = openNotify({ tables, logger, retry: config.notify.retry, ...senders });
  }
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

export interface DeployedFunctions {
  readonly routes: RouteModule[];
  /**
   * On a cluster node: the runtime of the deployed functions, on the tables in PostgreSQL the nodes share, its
   * commits fenced by the shards' leases; its mappings take their leases from the shared lease table. Undefined
   * elsewhere, where they run on `state.functions`.
   */
  readonly sharedRuntime: FunctionsRuntime | undefined;
}

/** Starts the deployed functions (stored ones, then the config file's) and returns their routes for the gateway. */
export async function startDeployedFunctions(
  deps: {
    state: FunctionsState;
    config: TollstreamConfig;
    authenticator: Authenticator;
    log: StreamLog;
    consumers: ConsumerMetrics;
    logger: Logger;
    /** On a cluster node, the shared tables and runtime already open for the apps (`openSharedFunctions`). */
    shared?: ClusterStores | undefined;
  },
  undo: Array<() => Promise<void> | void>,
): Promise<DeployedFunctions> {
  const { state, config, authenticator } = deps;
  const logger = deps.logger.child({ component: 'functions' });
  // On a cluster any node may deploy through the API, and every node runs what the shared definitions say.
  const cluster = config.cluster;
  const shared = deps.shared ?? (cluster ? await openSharedFunctions({ ...deps, postgresUrl: cluster.postgresUrl }, undo) : undefined);
  const definitions =
    cluster && shared
      ? // A node's claim to run a function outlives its leases (which stop its work once not renewed): a node that
        // cannot refresh it is not working the function's shards by the time the others count it out.
        await SharedDefinitions.open({ store: shared.store, node: cluster.nodeName, leaseSchema: LEASE_SCHEMA, runnerTtlMs: 3 * leaseTimings(cluster).leaseMs })
      : undefined;
  const deployments = new FunctionDeployments({
    dir: path.join(config.dataDir, 'functions'),
    tablesPath: state.tablesPath,
    tables: state.tables,
    runtime: shared?.runtime ?? state.functions,
    logs: state.logs,
    onCommit: () => state.notify.wake(),
    ...(cluster
      ? { cluster: { node: cluster.nodeName, postgres: { connectionString: cluster.postgresUrl, schema: SHARED_FUNCTIONS_SCHEMA, leaseSchema: LEASE_SCHEMA, notifySchema: NOTIFY_POSTGRES_SCHEMA }, ...(definitions ? { definitions } : {}) } }
      : {}),
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
  return {
    routes: [createFunctionsApi(deployments, routeOptions), createTablesApi(shared?.store ?? state.store, routeOptions)],
    sharedRuntime: shared?.runtime,
  };
}

/**
 * The shared stores' tables and runtime on a cluster node: the tables in PostgreSQL (schema `tollstream_functions`),
 * shared by the nodes, `tx.publish` writing the shared notifications' outbox in their commits, and a runtime on
 * them, fenced by the shared leases, that works the shards whose lease this node holds. The apps on the shared
 * stores and the deployed functions run on it.
 */
export async function openSharedFunctions(
  deps: { state: FunctionsState; postgresUrl: string; log: StreamLog; consumers: ConsumerMetrics; logger: Logger },
  undo: Array<() => Promise<void> | void>,
): Promise<ClusterStores> {
  const { state, logger } = deps;
  const logs = state.logs.capture(logger.child({ component: 'functions' }));
  const shared = await openClusterStores({ postgresUrl: deps.postgresUrl, schema: SHARED_FUNCTIONS_SCHEMA, log: deps.log, logger, runtimeLogger: logs }, undo);
  deps.consumers.addFunctions(shared.runtime);
  return shared;
}
