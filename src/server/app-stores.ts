/**
 * Tables, notifications and a functions runtime for the apps, where the server decides: on one node the tables
 * are SQLite files in the data directory and a runtime works every shard; on a node of a cluster the tables are
 * in PostgreSQL (`cluster.postgresUrl`, a schema each), shared by the nodes, and the runtime works the shards whose
 * lease the node holds, every commit fenced by that lease (docs/cluster.md). Notifications stay in the node's
 * SQLite file; what a function publishes in a PostgreSQL transaction goes to the schema's outbox, which the nodes
 * relay into their notifications.
 */
import path from 'node:path';
import type { AppStores, Undo } from '../app-contract/index.ts';
import type { TollstreamConfig } from '../config/index.ts';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { FunctionsRuntime } from '../functions/index.ts';
import { fenceCommits } from '../leases/index.ts';
import type { StreamLog } from '../log/index.ts';
import { openNotify, openPostgresOutbox, type Notify } from '../notify/index.ts';
import { openPostgresTables, openTables, sqliteTableStore, type TableStore } from '../tables/index.ts';
import type { ConsumerMetrics } from './consumer-metrics.ts';
import { openWhenReachable } from './reach.ts';

/** The schema of the lease table (work-leases.ts), which fences the commits of the runtimes on PostgreSQL. */
export const LEASE_SCHEMA = 'tollstream_leases';

/** A name of an app's own stores: its file `<name>.db`, its schema `tollstream_<name>` (with _ for -). */
const STORE_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Tables in PostgreSQL shared by the nodes, and a runtime on them fenced by the shared leases. */
export interface ClusterStores {
  readonly store: TableStore;
  readonly runtime: FunctionsRuntime;
}

/**
 * Opens the tables of `schema` in PostgreSQL (a node that cannot reach them says so in one line and keeps trying),
 * fences their commits by the lease table beside them, relays their outbox into `notify`, and starts a runtime on
 * them that works the shards given to it (`shards: 'assigned'`). Stops go on `undo`: the runtime, the relay, the
 * tables, in that order.
 */
export async function openClusterStores(
  deps: { postgresUrl: string; schema: string; notify: Notify; log: StreamLog; logger: Logger; runtimeLogger?: Logger },
  undo: Undo,
): Promise<ClusterStores> {
  const { schema, logger } = deps;
  const store = await openWhenReachable(
    `the tables of schema ${schema} in PostgreSQL`,
    () => openPostgresTables({ connectionString: deps.postgresUrl, schema, logger }),
    (err) => isTollstreamError(err, 'TABLES_UNAVAILABLE'),
    logger,
    { schema },
  );
  undo.unshift(() => store.close());
  fenceCommits(store, LEASE_SCHEMA);
  const outbox = await openPostgresOutbox({ store, notify: deps.notify, logger });
  outbox.start();
  undo.unshift(() => outbox.stop());
  const runtime = new FunctionsRuntime({ log: deps.log, store, shards: 'assigned', fenceCommits: true, logger: deps.runtimeLogger ?? logger.child({ component: 'functions' }) });
  undo.unshift(() => runtime.stop());
  return { store, runtime };
}

/**
 * `AppContext.openStores`: an app's own stores. Notifications in `<dataDir>/<name>.db`; the tables in that file
 * too on one node, with a runtime that works every shard; on a cluster node in the schema `tollstream_<name>`
 * (openClusterStores), whose runtime `onClusterRuntime` receives so its mappings take leases.
 */
export async function openAppStores(
  name: string,
  deps: { config: TollstreamConfig; log: StreamLog; logger: Logger; consumers: ConsumerMetrics; onClusterRuntime: (runtime: FunctionsRuntime) => void },
  undo: Undo,
): Promise<AppStores> {
  const { config, log, logger } = deps;
  if (!STORE_NAME.test(name)) {
    throw new TollstreamError('INVALID_ARGUMENT', `an app's stores are named with 1 to 40 lower-case letters, digits and -, starting with a letter; got '${name}'`, { context: { name } });
  }
  // The file holds what the log cannot give back (subscriptions, the outbox): never start it empty by accident.
  const tables = openTables({ path: path.join(config.dataDir, `${name}.db`), logger: logger.child({ component: 'tables' }), refuseLostFile: true });
  undo.unshift(() => tables.close());
  const notify = openNotify({ tables, logger });
  undo.unshift(() => notify.stop());
  let stores: AppStores;
  if (config.cluster) {
    const shared = await openClusterStores({ postgresUrl: config.cluster.postgresUrl, schema: `tollstream_${name.replaceAll('-', '_')}`, notify, log, logger }, undo);
    deps.onClusterRuntime(shared.runtime);
    stores = { store: shared.store, notify, functions: shared.runtime };
  } else {
    const store = sqliteTableStore(tables);
    const functions = new FunctionsRuntime({ log, store, logger: logger.child({ component: 'functions' }) });
    undo.unshift(() => functions.stop());
    stores = { store, notify, functions };
  }
  deps.consumers.addFunctions(stores.functions);
  deps.consumers.addNotify(name, notify);
  return stores;
}
