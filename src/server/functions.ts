/**
 * What stream functions share inside the server: tables and notifications in `<dataDir>/tables.db`, one
 * functions runtime (the functions of the apps on these shared stores and the deployed ones, so `/metrics`
 * counts them all), and the deployed functions with their HTTP routes (`/v1/functions`, `/v1/tables`). Steps to undo go on `undo`.
 *
 * On a node of a cluster the deployed functions' definitions, tables, checkpoints and outbox are in PostgreSQL
 * (`cluster.postgresUrl`, schema `tollstream_functions`), shared by the nodes, on a runtime of their own whose
 * commits are fenced by the shards' leases (docs/cluster.md); the apps' functions stay on `tables.db`.
 */
import path from 'node:path';
import { leaseTimings, type TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import { bundleHandler, FunctionDeployments, FunctionLogs, FunctionsRuntime, SharedDefinitions } from '../functions/index.ts';
import { createFunctionsApi, createTablesApi, type Authenticator, type RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import { isTollstreamError } from '../core/errors.ts';
import { fenceCommits } from '../leases/index.ts';
import { openNotify, openPostgresOutbox, type MirrorOptions, type Notify, type NotifyOptions } from '../notify/index.ts';
import { openPostgresTables, openTables, sqliteTableStore, type Tables, type TableStore } from '../tables/index.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';

/** The schema, in `cluster.postgresUrl`, of the tables that deployed functions share on a cluster. */
export const SHARED_FUNCTIONS_SCHEMA = 'tollstream_functions';
/** The schema of the lease table (work-leases.ts), which fences the shared functions' commits. */
const LEASE_SCHEMA = 'tollstream_leases';

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
  deps: { state: FunctionsState; config: TollstreamConfig; authenticator: Authenticator; log: StreamLog; consumers: ConsumerMetrics; logger: Logger },
  undo: Array<() => Promise<void> | void>,
): Promise<DeployedFunctions> {
  const { state, config, authenticator } = deps;
  const logger = deps.logger.child({ component: 'functions' });
  // On a cluster any node may deploy through the API, and every node runs what the shared definitions say.
  const cluster = config.cluster;
  const shared = cluster ? await openSharedFunctions({ ...deps, postgresUrl: cluster.postgresUrl }, undo) : undefined;
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
    ...(cluster ? { cluster: { node: cluster.nodeName, postgres: { connectionString: cluster.postgresUrl, schema: SHARED_FUNCTIONS_SCHEMA, leaseSchema: LEASE_SCHEMA }, ...(definitions ? { definitions } : {}) } } : {}),
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
 * The deployed functions' state on a cluster node: the tables in PostgreSQL (a node that cannot reach them says so
 * in one line and keeps trying), their commits fenced by the lease table beside them, their outbox relayed into this
 * node's notifications, and a runtime on them that works the shards whose lease this node holds.
 */
async function openSharedFunctions(
  deps: { state: FunctionsState; postgresUrl: string; log: StreamLog; consumers: ConsumerMetrics; logger: Logger },
  undo: Array<() => Promise<void> | void>,
  retryMs = 2000,
): Promise<{ store: TableStore; runtime: FunctionsRuntime }> {
  const { state, logger } = deps;
  let waiting = false;
  let store: TableStore;
  for (;;) {
    try {
      store = await openPostgresTables({ connectionString: deps.postgresUrl, schema: SHARED_FUNCTIONS_SCHEMA, logger });
      break;
    } catch (err) {
      if (!isTollstreamError(err, 'TABLES_UNAVAILABLE')) throw err;
      if (!waiting) logger.warn(`cannot reach the functions' tables in PostgreSQL, retrying every ${retryMs} ms: ${err.message}`);
      waiting = true;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
  if (waiting) logger.info("reached the functions' tables in PostgreSQL");
  undo.unshift(() => store.close());
  fenceCommits(store, LEASE_SCHEMA);
  const outbox = await openPostgresOutbox({ store, notify: state.notify, logger });
  outbox.start();
  undo.unshift(() => outbox.stop());
  const runtime = new FunctionsRuntime({ log: deps.log, store, shards: 'assigned', fenceCommits: true, logger: state.logs.capture(logger) });
  undo.unshift(() => runtime.stop());
  deps.consumers.addFunctions(runtime);
  return { store, runtime };
}
