/**
 * Tables, notifications and a functions runtime for the apps, where the server decides: on one node the tables
 * are SQLite files in the data directory and a runtime works every shard; on a node of a cluster the tables are
 * in PostgreSQL (`cluster.postgresUrl`, a schema each), shared by the nodes, and the runtime works the shards whose
 * lease the node holds, every commit fenced by that lease (docs/cluster.md). Notifications are in the same SQLite
 * file on one node; on a cluster node they are the ones the nodes share in PostgreSQL (schema `tollstream_notify`),
 * and what a function publishes in a PostgreSQL transaction goes to their outbox in that transaction.
 */
import path from 'node:path';
import type { AppStores, Undo } from '../app-contract/index.ts';
import type { TollstreamConfig } from '../config/index.ts';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { FunctionsRuntime } from '../functions/index.ts';
import { fenceCommits } from '../leases/index.ts';
import type { StreamLog } from '../log/index.ts';
import { NOTIFY_POSTGRES_SCHEMA, openNotify, openPostgresNotify, publishToPostgresNotify, type Notifications, type NotifyOptions, type PostgresNotify } from '../notify/index.ts';
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
 * fences their commits by the lease table beside them, makes `tx.publish` write the shared notifications' outbox
 * in those commits, and starts a runtime on them that works the shards given to it (`shards: 'assigned'`). Stops
 * go on `undo`: the runtime, then the tables.
 */
export async function openClusterStores(
  deps: { postgresUrl: string; schema: string; log: StreamLog; logger: Logger; runtimeLogger?: Logger },
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
  publishToPostgresNotify(store, { schema: NOTIFY_POSTGRES_SCHEMA });
  const runtime = new FunctionsRuntime({ log: deps.log, store, shards: 'assigned', fenceCommits: true, logger: deps.runtimeLogger ?? logger.child({ component: 'functions' }) });
  undo.unshift(() => runtime.stop());
  return { store, runtime };
}

/**
 * The notifications the nodes of a cluster share, opened once per node on first use (a node that cannot reach them
 * says so in one line and keeps trying) and closed through `undo`. Every user on the node (the shared stores, an
 * app's own, the deployed functions) gets this one instance, opened with every app's senders and mirror routes:
 * an instance without a route would fan a message out without mirroring it.
 */
export function sharedNotifyOnce(
  deps: { postgresUrl: string; nodeName: string; logger: Logger; options?: Pick<NotifyOptions, 'webPush' | 'email' | 'render' | 'mirror' | 'retry'> },
  undo: Undo,
): () => Promise<PostgresNotify> {
  let opened: Promise<PostgresNotify> | undefined;
  const open = () => openPostgresNotify({ connectionString: deps.postgresUrl, schema: NOTIFY_POSTGRES_SCHEMA, nodeName: deps.nodeName, logger: deps.logger, ...deps.options });
  return () =>
    (opened ??= openWhenReachable('the shared notifications in PostgreSQL', open, (err) => isTollstreamError(err, 'TABLES_UNAVAILABLE'), deps.logger, { schema: NOTIFY_POSTGRES_SCHEMA }).then((notify) => {
      undo.unshift(() => notify.close());
      return notify;
    }));
}

/**
 * `AppContext.openStores`: an app's own stores. On one node the tables and notifications are in `<dataDir>/<name>.db`,
 * with a runtime that works every shard; on a cluster node the tables are in the schema `tollstream_<name>`
 * (openClusterStores), whose runtime `onClusterRuntime` receives so its mappings take leases, and the notifications
 * are the shared ones.
 */
export async function openAppStores(
  name: string,
  deps: {
    config: TollstreamConfig;
    log: StreamLog;
    logger: Logger;
    consumers: ConsumerMetrics;
    onClusterRuntime: (runtime: FunctionsRuntime) => void;
    /** On a cluster node: this node's one instance of the shared notifications (`sharedNotifyOnce`). */
    sharedNotify?: (() => Promise<PostgresNotify>) | undefined;
  },
  undo: Undo,
): Promise<AppStores> {
  const { config, log, logger } = deps;
  if (!STORE_NAME.test(name)) {
    throw new TollstreamError('INVALID_ARGUMENT', `an app's stores are named with 1 to 40 lower-case letters, digits and -, starting with a letter; got '${name}'`, { context: { name } });
  }
  let stores: AppStores;
  let notify: Notifications;
  if (config.cluster) {
    const shared = await openClusterStores({ postgresUrl: config.cluster.postgresUrl, schema: `tollstream_${name.replaceAll('-', '_')}`, log, logger }, undo);
    if (!deps.sharedNotify) throw new TollstreamError('INTERNAL', 'a cluster node opens its stores with its shared notifications');
    notify = await deps.sharedNotify();
    deps.onClusterRuntime(shared.runtime);
    stores = { store: shared.store, notify, functions: shared.runtime };
  } else {
    // The file holds what the log cannot give back (subscriptions, the outbox): never start it empty by accident.
    const tables = openTables({ path: path.join(config.dataDir, `${name}.db`), logger: logger.child({ component: 'tables' }), refuseLostFile: true });
    undo.unshift(() => tables.close());
    notify = openNotify({ tables, logger, retry: config.notify.retry });
    const store = sqliteTableStore(tables);
    const functions = new FunctionsRuntime({ log, store, logger: logger.child({ component: 'functions' }) });
    undo.unshift(() => functions.stop());
    stores = { store, notify, functions };
  }
  undo.unshift(() => notify.stop());
  deps.consumers.addFunctions(stores.functions);
  deps.consumers.addNotify(name, notify);
  return stores;
}
