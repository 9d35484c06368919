/**
 * The composition root: from a loaded config to a running server (data directory, stream log, declared
 * streams, warehouse and station reference, deliveries, authentication, gateway with one metrics registry)
 * and back down again in the reverse order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App, AppNeeds, PreparedApp, RunningApp, WarehouseFeed } from '../app-contract/index.ts';
import { lakeDir, leaseStoreTimeoutMs, leaseTimings, referenceDir, warehouseLimits, warehousePath, type DeclaredStream, type TollstreamConfig } from '../config/index.ts';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { DeliveryStream, openParquetLake, openSharedParquetLake, warehouseDestination, type BufferingHints, type DeliveryDestination } from '../delivery/index.ts';
import type { FunctionsRuntime } from '../functions/index.ts';
import { createAuthenticator, createGateway, type RouteModule, type ServedRoute } from '../gateway/index.ts';
import { openEmbeddedLog, type StreamLog } from '../log/index.ts';
import { openClusterLog, registerLogReachableMetric } from './cluster-log.ts';
import { openWhenReachable } from './reach.ts';
import { openPostgresQueryStore, QueryManager } from '../queries/index.ts';
import { Registry } from '../metrics/index.ts';
import { loadReference, type ReferenceTable } from '../reports/index.ts';
import { openDuckDBWarehouse, openPostgresWarehouse, QuerySlots, type TableSchema, type Warehouse } from '../warehouse/index.ts';
import { loadOrCreateSecret, lockDataDir, restrictDataDir, type DataDirLock } from './data-dir.ts';
import { createStaticRoutes } from '../web/index.ts';
import { openFunctionsState, openSharedFunctions, startDeployedFunctions } from './functions.ts';
import { openAppStores, sharedNotifyOnce } from './app-stores.ts';
import { accessMode, describeAccess, type AccessMode } from './exposure.ts';
import { deliveryConsumers, startNodeLeases } from './work-leases.ts';
import { registerDeliveryMetrics, registerWarehouseMetrics } from './delivery-metrics.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import { registerConsumerMetrics } from './consumer-metrics.ts';
import { startMetricsHistory } from './metrics-history.ts';
import { createDeadLetterRoutes } from './dead-letters.ts';
import { createOpenApiRoute } from './openapi-route.ts';
import { checkBiExposure, startBi } from './bi.ts';

export interface RunningServer {
  /** Where clients reach the server, e.g. `http://127.0.0.1:4566` (a wildcard host is given as loopback). */
  readonly url: string;
  /** The bound port (the real one when the config asked for port 0). */
  readonly port: number;
  /** Who may call: local open mode (loopback, no keys), keys required, or an open network (`auth.protectedMode: false`). */
  readonly access: AccessMode;
  readonly log: StreamLog;
  /** The warehouse; undefined with `warehouse.enabled: false`. */
  readonly warehouse: Warehouse | undefined;
  /** The PostgreSQL port for BI tools (`bi.enabled`); undefined when off. */
  readonly biPort: number | undefined;
  /** The running deliveries (`warehouse`, and `lake` when enabled); empty when nothing is delivered. */
  readonly deliveries: readonly DeliveryStream[];
  /** Every route served by path (the gateway's, the platform's and the apps'), for checking the API's description. */
  routes(): readonly ServedRoute[];
  /**
   * Stops accepting requests and closes the gateway, stops the deliveries, closes the warehouse and the lake,
   * then the log, then releases the data directory. Idempotent.
   */
  close(): Promise<void>;
}

export interface StartServerOptions {
  /** @default a logger built from `config.logging`, writing to stderr */
  readonly logger?: Logger;
  /** The built browser pages (`npm run build:web`), served at /console and the paths the apps' pages declare. @default this package's `dist/web` */
  readonly webRoot?: string;
  /** The apps to run on the platform (each when its config section enables it); `tollstream up` gives the shipped ones. @default none */
  readonly apps?: readonly App[];
}

export { ACCESS_LABELS, type AccessMode } from './exposure.ts';

const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/web', import.meta.url));

/** The delivery of `delivery.stream` into the warehouse table of its name. */
const WAREHOUSE_DELIVERY = 'warehouse';
const LAKE_DELIVERY = 'lake';

/** Records in one lake batch at most: about 128 MiB of tolls, so the size and time hints decide, not this. */
const LAKE_MAX_BATCH_RECORDS = 500_000;

/** The shard count of a declared stream that does not name one (as documented in the config schema). */
const DECLARED_STREAM_SHARDS = 2;

/**
 * Starts the server. Refuses (CONFIG_INVALID) an address beyond loopback without keys unless
 * `auth.protectedMode` is false. Sets the process umask to 077, so every file it writes is its owner's only.
 */
export async function startServer(config: TollstreamConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logging.level, format: config.logging.format });
  // Decided before anything opens: a refused exposure leaves no trace.
  const access = accessMode(config);
  checkBiExposure(config);
  const dataDir = path.resolve(config.dataDir);
  restrictDataDir(dataDir, logger);
  try {
    fs.mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new TollstreamError('IO_ERROR', `cannot create the data directory ${dataDir}: ${(err as Error).message}`, {
      context: { dataDir },
      cause: err,
    });
  }

  const lock = lockDataDir(dataDir, logger);
  const undo: Array<() => Promise<void> | void> = [() => lock.release()];
  try {
    const clusterLog = config.cluster ? await openClusterLog(config.cluster, config, logger) : undefined;
    const log = clusterLog ?? await openEmbeddedLog({
      // The log keeps its streams in `<dir>/streams/<name>/`, so the data directory is its directory.
      dir: dataDir,
      fsync: config.storage.fsync,
      fsyncIntervalMs: config.storage.fsyncIntervalMs,
      segmentBytes: config.storage.segmentBytes,
      indexIntervalBytes: config.storage.indexIntervalBytes,
      defaultRetentionHours: config.storage.retentionHours,
      maxOpenFiles: config.storage.maxOpenFiles,
      logger: logger.child({ component: 'log' }),
    });
    undo.unshift(() => log.close());
    // Shard iterators from one node of a cluster must work on every other: they share the signing key.
    const iteratorSecret = clusterLog ? await clusterLog.sharedSecret('iterators') : loadOrCreateSecret(dataDir, logger);
    await createDeclaredStreams(log, config, declaredStreams(config, options.apps ?? []), logger);

    const metrics = new Registry();
    registerProcessMetrics(metrics, logger);
    registerLogReachableMetric(metrics, log);
    // The apps' reference data is served whether or not they run, so an app starts from the newest data.
    const references = appReferences(options.apps ?? [], config, log);
    const appTables = [...(options.apps ?? []).flatMap((app) => app.warehouseTables ?? []), ...references.map((r) => r.table)];
    const warehouse = config.warehouse.enabled ? await openWarehouse(config, logger, appTables, references) : undefined;
    if (warehouse) {
      undo.unshift(() => warehouse.close());
      registerWarehouseMetrics(metrics, warehouse, logger.child({ component: 'warehouse' }));
    }
    const deliveries = await startDeliveries(log, warehouse, appTables, config, logger, undo);
    // The apps the config enables say what they need before the shared stores open.
    const prepared: Array<PreparedApp & { readonly name: string }> = (options.apps ?? [])
      .filter((app) => app.enabled(config))
      .map((app) => ({ ...app.prepare({ config, log, logger, warehouse: warehouse !== undefined, secret: iteratorSecret, serverUrl: `http://${urlHost(config.host)}:${config.port}` }), name: app.name }));
    const feeds = warehouse ? await startWarehouseFeeds(log, warehouse, prepared.flatMap((p) => p.warehouseFeeds ?? []), config, logger, undo) : [];
    registerDeliveryMetrics(metrics, [...deliveries, ...feeds]);

    let queries: QueryManager | undefined;
    if (config.queries.enabled) {
      const references = referenceDir(config);
      fs.mkdirSync(references, { recursive: true });
      // A cluster node keeps queries in PostgreSQL and runs those whose lease it holds (work-leases.ts).
      const cluster = config.cluster;
      const clusterStore = cluster
        ? await openWhenReachable(
            'the query store in PostgreSQL',
            () => openPostgresQueryStore({ connectionString: cluster.postgresUrl, checkpointFullEvery: config.queries.checkpointFullEvery }, logger.child({ component: 'queries' })),
            (err) => isTollstreamError(err, 'TABLES_UNAVAILABLE'),
            logger,
            { component: 'queries' },
          )
        : undefined;
      const manager = new QueryManager({
        log,
        ...(clusterStore && config.cluster ? { store: clusterStore, leased: { owner: config.cluster.nodeName } } : { dir: path.join(dataDir, 'queries') }),
        checkpointIntervalMs: config.queries.checkpointIntervalMs,
        checkpointFullEvery: config.queries.checkpointFullEvery,
        threads: config.queries.threads,
        ...(config.queries.threadMemoryMiB === undefined ? {} : { threadOptions: { memoryMiB: config.queries.threadMemoryMiB } }),
        ...(config.queries.threadRestarts === undefined ? {} : { threadRestarts: config.queries.threadRestarts }),
        referenceDir: references,
        logger: logger.child({ component: 'queries' }),
      });
      manager.registerMetrics(metrics);
      // Closed after the gateway and before the log: each query takes a last checkpoint.
      undo.unshift(() => manager.close());
      await manager.start();
      queries = manager;
    }

    // One budget of warehouse queries for the HTTP routes and the BI port together.
    const querySlots = new QuerySlots({ perCaller: warehouseLimits(config).queriesPerCaller, total: warehouseLimits(config).maxConcurrentQueries });
    const authenticator = createAuthenticator({ accessKeys: config.auth.accessKeys, apiKeys: config.auth.apiKeys });
    if (access === 'open-network') logger.warn(describeAccess(access, config), { access, host: config.host });
    else logger.info(describeAccess(access, config), { access, host: config.host });
    warnAboutOpenDoors(config, logger);
    const consumers = registerConsumerMetrics(metrics);
    consumers.addDeliveries([...deliveries, ...feeds]);
    if (queries) consumers.addQueries(queries);
    const sharing = prepared.filter((p) => p.sharedStores !== undefined);
    const senders = sharedStoreOptions(log, sharing);
    const sharedNotify = config.cluster
      ? sharedNotifyOnce({ postgresUrl: config.cluster.postgresUrl, nodeName: config.cluster.nodeName, logger, options: { ...senders.notifyOptions, ...(senders.mirror ? { mirror: senders.mirror } : {}), retry: config.notify.retry } }, undo)
      : undefined;
    let functionsState = sharing.length > 0 ? await openFunctionsState({ log, config, logger, consumers, ...senders, sharedNotify }, undo) : undefined;
    // On a cluster node the apps' shared tables and their functions are in PostgreSQL, shared by the nodes; the
    // runtimes on PostgreSQL (these, the deployed functions', an app's own) take their leases from the shared table.
    const clusterShared = functionsState && config.cluster ? await openSharedFunctions({ state: functionsState, postgresUrl: config.cluster.postgresUrl, log, consumers, logger }, undo) : undefined;
    const sharedFunctions: FunctionsRuntime[] = clusterShared ? [clusterShared.runtime] : [];
    const sharedStores = functionsState && { ...functionsState, ...(clusterShared ? { store: clusterShared.store, functions: clusterShared.runtime } : {}) };
    const openStores = (name: string, appUndo: typeof undo) =>
      openAppStores(name, { config, log, logger, consumers, sharedNotify, onClusterRuntime: (runtime) => sharedFunctions.push(runtime) }, appUndo);
    const apps: Array<RunningApp & { readonly name: string }> = [];
    for (const app of prepared) {
      const shared = app.sharedStores ? sharedStores : undefined;
      const running = await app.start({ config, log, logger, metrics, consumers, authenticator, queries, warehouse, shared, openStores }, undo);
      if (running) apps.push({ ...running, name: app.name });
    }
    let functionRoutes: RouteModule[] = [];
    if (config.functions.enabled) {
      try {
        functionsState ??= await openFunctionsState({ log, config, logger, consumers, sharedNotify }, undo);
        const deployed = await startDeployedFunctions({ state: functionsState, config, authenticator, log, consumers, logger, shared: clusterShared }, undo);
        functionRoutes = deployed.routes;
        if (deployed.sharedRuntime && !sharedFunctions.includes(deployed.sharedRuntime)) sharedFunctions.push(deployed.sharedRuntime);
      } catch (err) {
        // Without an app on the shared stores, deployed functions are the only users of tables.db: a disk that
        // cannot hold it (full, failing) must not keep the log and the warehouse from serving. Said loudly, once.
        if (sharing.length > 0 || !isTollstreamError(err, 'IO_ERROR')) throw err;
        logger.error('deployed functions are off until the next start: their tables cannot be opened', { err });
      }
    }
    // Deliveries into the warehouse and function mappings work the shards whose lease this node holds (work-leases.ts).
    const leased = [...deliveries.filter((d) => d.name === WAREHOUSE_DELIVERY), ...feeds];
    const streams = new Map<string, string>([[WAREHOUSE_DELIVERY, config.delivery.stream], [LAKE_DELIVERY, config.delivery.stream], ...feeds.map((f): [string, string] => [f.name, f.name])]);
    // A cluster's lake is one for all nodes (its commits in PostgreSQL): its leases are always the cluster's.
    const clusterLake = config.cluster ? deliveries.filter((d) => d.name === LAKE_DELIVERY) : [];
    // On one node every function mapping commits to this node's files: their leases stay with it. On a cluster the
    // runtimes on PostgreSQL (sharedFunctions) and the continuous queries keep their state there: their leases move
    // between the nodes.
    const workLeases = await startNodeLeases({ config, deliveries: deliveryConsumers(leased, streams), clusterDeliveries: deliveryConsumers(clusterLake, streams), functions: functionsState?.functions, sharedFunctions, queries, log, metrics, logger }, undo);
    // The console's charts: a sample of the metrics every interval, kept in the log (metrics-history.ts).
    const history = config.metrics.historyIntervalSeconds > 0
      ? await startMetricsHistory({
          log,
          registry: metrics,
          intervalSeconds: config.metrics.historyIntervalSeconds,
          retentionHours: config.metrics.historyRetentionHours,
          // Whether or not an app runs, so its charts read the history it left.
          series: (options.apps ?? []).flatMap((app) => app.historySeries ?? []),
          node: config.cluster?.nodeName ?? 'local',
          operatorAuth: (header) => authenticator.verifyBearer(header),
          logger: logger.child({ component: 'metrics-history' }),
        })
      : undefined;
    if (history) undo.unshift(() => history.stop());
    // Whether or not an app runs, like its reports: its pages are in the build either way.
    const appWeb = (options.apps ?? []).flatMap((app) => (app.web ? [app.web] : []));
    const deadLetters = createDeadLetterRoutes({
      consumers,
      log,
      warehouse,
      operatorAuth: (header) => authenticator.verifyBearer(header),
      // Names the node to ask when a redrive was sent to one without the shard's lease (as of the last lease round).
      leaseOwner: (key) => workLeases?.status().owners[key],
      logger: logger.child({ component: 'dead-letters' }),
    });
    const gateway = createGateway({
      log,
      authenticator,
      logger: logger.child({ component: 'gateway' }),
      iteratorSecret,
      metrics,
      http: config.http,
      shardWriteLimits: config.kinesis.shardWriteLimits,
      routes: [...apps.flatMap((a) => a.routes), ...functionRoutes, ...(history ? [history.routes] : []), deadLetters, createOpenApiRoute(), createStaticRoutes({ root: options.webRoot ?? DEFAULT_WEB_ROOT, pages: appWeb.flatMap((web) => web.pages ?? []), consolePages: appWeb.flatMap((web) => web.consolePages ?? []) })],
      ...(warehouse ? { warehouse } : {}),
      ...(queries ? { queries } : {}),
      deliveries: () => [...deliveries, ...feeds].map((d) => d.stats()),
      references,
      reports: (options.apps ?? []).flatMap((app) => app.reports ?? []),
      // A cluster node shows its leases in /health (one node holds every lease; nothing to show).
      ...(config.cluster && workLeases ? { leases: workLeases.status } : {}),
      warehouseQueries: querySlots,
    });
    undo.unshift(() => gateway.close());
    const bi = warehouse && config.bi.enabled ? await startBi(config, warehouse, querySlots, logger) : undefined;
    if (bi) undo.unshift(() => bi.close());
    // Open notification streams end first, so closing the gateway need not wait for them.
    for (const app of apps) if (app.endStreams) undo.unshift(() => app.endStreams!());
    const { port } = await gateway.listen(config.port, config.host);
    gateway.setReady(true);

    const url = `http://${urlHost(config.host)}:${port}`;
    for (const app of apps) app.listening?.(url);
    logger.info('ready', {
      url,
      access,
      dataDir,
      fsync: config.storage.fsync,
      sigv4: authenticator.mode,
      apiKeys: config.auth.apiKeys.length > 0,
      warehouse: warehouse ? (config.warehouse.kind === 'postgres' ? 'postgres' : warehousePath(config)) : false,
      deliveries: deliveries.map((d) => d.name),
      ...(bi ? { biPort: bi.port } : {}),
      apps: apps.map((a) => a.name),
      queries: queries ? queries.listQueries().map((q) => q.name) : false,
    });

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      access,
      log,
      warehouse,
      biPort: bi?.port,
      deliveries,
      routes: () => gateway.routes(),
      close() {
        closing ??= (async () => {
          gateway.setReady(false);
          logger.info('stopping');
          await runAll(undo);
          logger.info('stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await runAll(undo).catch((cleanupErr: unknown) => logger.error('cleanup after a failed start failed', { err: cleanupErr }));
    throw err;
  }
}

/** Opens the warehouse with the platform's tables and `appTables`, and loads the file of each reference that names one. */
async function openWarehouse(config: TollstreamConfig, logger: Logger, appTables: readonly TableSchema[], references: readonly ReferenceTable[]): Promise<Warehouse> {
  // A cluster node shares its PostgreSQL warehouse: started while the server is out of reach (down, failing over,
  // the network), it says so in one line and keeps trying, like the log and the other stores it shares.
  const warehouse =
    config.cluster && config.warehouse.kind === 'postgres'
      ? await openWhenReachable('the PostgreSQL warehouse', () => openConfiguredWarehouse(config, logger), (err) => isTollstreamError(err, 'WAREHOUSE_UNAVAILABLE'), logger, { component: 'warehouse' })
      : await openConfiguredWarehouse(config, logger);
  try {
    await warehouse.ensureSchema(appTables);
    for (const reference of references) {
      if (reference.file === undefined) continue;
      const { rows } = await loadReference(warehouse, reference, { path: reference.file });
      logger.info('loaded reference data', { reference: reference.name, file: reference.file, rows });
    }
  } catch (err) {
    await warehouse.close();
    throw err;
  }
  return warehouse;
}

/** The apps' reference data; a name taken twice, or `files` (the queries' reference files), is refused. */
function appReferences(apps: readonly App[], config: TollstreamConfig, log: StreamLog): ReferenceTable[] {
  const references: ReferenceTable[] = [];
  for (const app of apps) {
    for (const reference of app.referenceData?.(config, log) ?? []) {
      if (reference.name === 'files' || !/^[a-z0-9_-]{1,64}$/.test(reference.name)) {
        throw new TollstreamError('CONFIG_INVALID', `the app '${app.name}' names reference data '${reference.name}': use 1 to 64 lower-case letters, digits, _ or -, not 'files'`, { context: { app: app.name, reference: reference.name } });
      }
      if (references.some((r) => r.name === reference.name)) {
        throw new TollstreamError('CONFIG_INVALID', `two apps declare reference data '${reference.name}'`, { context: { app: app.name, reference: reference.name } });
      }
      references.push(reference);
    }
  }
  return references;
}

/** The backend `warehouse.kind` names: a DuckDB file, or a PostgreSQL server at `warehouse.postgresUrl`. */
async function openConfiguredWarehouse(config: TollstreamConfig, logger: Logger): Promise<Warehouse> {
  const limits = warehouseLimits(config);
  if (config.warehouse.kind === 'postgres') {
    // loadConfig refuses kind 'postgres' without a URL; this guards a config built by hand.
    const url = config.warehouse.postgresUrl;
    if (url === undefined) throw new TollstreamError('CONFIG_INVALID', "warehouse.kind 'postgres' needs warehouse.postgresUrl", { context: { key: 'warehouse.postgresUrl' } });
    return openPostgresWarehouse({ connectionString: url, maxResultRows: limits.maxResultRows, statementTimeoutMs: limits.queryTimeoutMs });
  }
  const file = warehousePath(config);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return openDuckDBWarehouse({
    path: file,
    maxResultRows: limits.maxResultRows,
    queryTimeoutMs: limits.queryTimeoutMs,
    memoryLimitMiB: limits.memoryLimitMiB,
    // Every warehouse table is delivered from the log with its positions in the same file: an empty warehouse
    // starts delivery from the oldest retained record, and each record is loaded once.
    rebuildDamaged: ({ path: damagedFile, movedTo, reason }) =>
      logger.error(
        'the warehouse file is damaged: moved it aside and rebuilding the warehouse from the log (only what the log still retains; reference data comes back from its file (reference.stationsFile) or the next reference load)',
        { component: 'warehouse', file: damagedFile, movedTo, reason },
      ),
  });
}

/**
 * One delivery of `delivery.stream` into the warehouse table of its name (declared by an app), and one into the
 * Parquet lake when enabled.
 * Each registers its stop in `undo` as soon as it runs, so a failed start stops the ones already running.
 */
async function startDeliveries(
  log: StreamLog,
  warehouse: Warehouse | undefined,
  appTables: readonly TableSchema[],
  config: TollstreamConfig,
  logger: Logger,
  undo: Array<() => Promise<void> | void>,
): Promise<DeliveryStream[]> {
  const stream = config.delivery.stream;
  const lake = config.lake;
  if (!warehouse && !lake.enabled) return [];
  const exists = (await log.listStreams()).some((s) => s.name === stream);
  if (!exists) {
    logger.warn(`delivery.stream '${stream}' does not exist, so nothing is delivered; declare it in streams (or create it) and restart`, { stream });
    return [];
  }
  const table = appTables.find((t) => t.name === stream);
  if (!table) {
    logger.warn(`no app declares a warehouse table named like delivery.stream '${stream}', so nothing is delivered`, { stream });
    return [];
  }
  const destinations: Array<{ name: string; destination: () => Promise<DeliveryDestination>; buffering?: BufferingHints; maxBatchRecords?: number }> = [];
  if (warehouse) destinations.push({ name: WAREHOUSE_DELIVERY, destination: async () => warehouseDestination(warehouse, table.name) });
  if (lake.enabled) {
    destinations.push({
      name: LAKE_DELIVERY,
      // On a cluster the nodes write one lake in the folder they share, its commits in PostgreSQL, each shard by
      // the node holding its lease; alone, the lake is this node's, with its manifests and compaction.
      destination: () =>
        config.cluster
          ? openSharedParquetLake({ dir: lakeDir(config), schema: table, postgresUrl: config.cluster.postgresUrl, timeoutMs: leaseStoreTimeoutMs(leaseTimings(config.cluster)), logger })
          : openParquetLake({ dir: lakeDir(config), schema: table, targetFileMiB: lake.targetFileMiB, compactionIntervalSeconds: lake.compactionIntervalSeconds, logger }),
      // Its own buffering, apart from the warehouse's: large batches, so files start larger and compaction has less to do.
      buffering: { sizeMiB: Math.min(128, lake.targetFileMiB), intervalSeconds: lake.maxWaitSeconds },
      maxBatchRecords: LAKE_MAX_BATCH_RECORDS,
    });
  }
  const deliveries: DeliveryStream[] = [];
  for (const { name, destination: open, buffering, maxBatchRecords } of destinations) {
    const destination = await open();
    if (destination.close) undo.unshift(() => destination.close!());
    const delivery = new DeliveryStream({
      name,
      log,
      stream,
      destination,
      buffering: buffering ?? { sizeMiB: config.delivery.bufferSizeMiB, intervalSeconds: config.delivery.bufferIntervalSeconds },
      ...(maxBatchRecords === undefined ? {} : { maxBatchRecords }),
      // The warehouse may be shared by the nodes of a cluster, and a cluster's lake is: both are written under
      // leases. A lone node's lake follows every shard.
      shards: name === WAREHOUSE_DELIVERY || config.cluster ? 'assigned' : 'all',
      logger,
    });
    await delivery.start();
    undo.unshift(() => delivery.stop());
    deliveries.push(delivery);
  }
  return deliveries;
}

/**
 * The apps' streams delivered into warehouse tables (a delivery per stream, named after it), under leases like
 * the toll delivery. Each registers its stop in `undo` as soon as it runs.
 */
async function startWarehouseFeeds(
  log: StreamLog,
  warehouse: Warehouse,
  feeds: readonly WarehouseFeed[],
  config: TollstreamConfig,
  logger: Logger,
  undo: Array<() => Promise<void> | void>,
): Promise<DeliveryStream[]> {
  const started: DeliveryStream[] = [];
  for (const feed of feeds) {
    await feed.ensureStream(log, logger);
    const delivery = new DeliveryStream({
      name: feed.stream,
      log,
      stream: feed.stream,
      destination: warehouseDestination(warehouse, feed.table),
      buffering: { sizeMiB: config.delivery.bufferSizeMiB, intervalSeconds: config.delivery.bufferIntervalSeconds },
      // Follows the shards whose lease this node holds (work-leases.ts), as the warehouse delivery does.
      shards: 'assigned',
      logger,
    });
    await delivery.start();
    undo.unshift(() => delivery.stop());
    started.push(delivery);
  }
  return started;
}

/** What the apps on the shared stores ask of its notifications: their mirrored topics, and how alerts leave (one app may say). */
function sharedStoreOptions(log: StreamLog, apps: ReadonlyArray<AppNeeds & { readonly name: string }>): Pick<Parameters<typeof openFunctionsState>[0], 'mirror' | 'notifyOptions'> {
  const routes = apps.flatMap((a) => a.sharedStores?.mirror ?? []);
  const senders = apps.filter((a) => a.sharedStores?.notifyOptions !== undefined);
  if (senders.length > 1) {
    throw new TollstreamError('CONFIG_INVALID', `apps ${senders.map((a) => `'${a.name}'`).join(' and ')} both set how the shared notifications leave; run one of them`, {
      context: { apps: senders.map((a) => a.name) },
    });
  }
  return {
    mirror: routes.length > 0 ? { routes, append: (stream, records) => log.append(stream, records) } : undefined,
    notifyOptions: senders[0]?.sharedStores?.notifyOptions,
  };
}

/** Runs every step even if one fails, then rethrows the first failure. */
async function runAll(steps: ReadonlyArray<() => Promise<void> | void>): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/**
 * The streams to create at start: the operator's `streams`, then those the running apps declare; a name declared
 * twice keeps its first declaration, so the operator's wins.
 */
function declaredStreams(config: TollstreamConfig, apps: readonly App[]): DeclaredStream[] {
  const byName = new Map<string, DeclaredStream>();
  const running = apps.filter((app) => app.enabled(config)).flatMap((app) => app.streams?.(config) ?? []);
  for (const declared of [...config.streams, ...running]) if (!byName.has(declared.name)) byName.set(declared.name, declared);
  return [...byName.values()];
}

async function createDeclaredStreams(log: StreamLog, config: TollstreamConfig, streams: readonly DeclaredStream[], logger: Logger): Promise<void> {
  const existing = new Set((await log.listStreams()).map((s) => s.name));
  for (const declared of streams) {
    if (existing.has(declared.name)) continue;
    try {
      await log.createStream(declared.name, {
        shardCount: declared.shardCount ?? DECLARED_STREAM_SHARDS,
        retentionHours: declared.retentionHours ?? config.storage.retentionHours,
        ...(declared.retentionBytes === undefined ? {} : { retentionBytes: declared.retentionBytes }),
        ...(declared.dedupe === undefined ? {} : { dedupe: declared.dedupe }),
      });
      logger.info('created declared stream', { stream: declared.name });
    } catch (err) {
      if (!isTollstreamError(err, 'STREAM_EXISTS')) throw err;
    }
  }
}

/** Half-protected setups are legal (e.g. SDK producers signed, native API on a trusted network) but worth a line. */
function warnAboutOpenDoors(config: TollstreamConfig, logger: Logger): void {
  const sigv4 = config.auth.accessKeys.length > 0;
  const apiKeys = config.auth.apiKeys.length > 0;
  if (sigv4 && !apiKeys) {
    logger.warn('SigV4 is verified but auth.apiKeys is empty: the native API (/v1) accepts requests without a key');
  } else if (apiKeys && !sigv4) {
    logger.warn('auth.apiKeys protects the native API but auth.accessKeys is empty: the Kinesis and Firehose APIs accept any well-formed signature');
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
