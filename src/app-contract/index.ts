/**
 * What an app is to the platform, and the one public door between them. An app (the ABC Tolls spending alerts,
 * the station traffic alerts, a user's own) is built on the platform's public doors only and hands the server
 * one `App`; the server knows nothing else about it. It contributes:
 * - its config section (`configSection`): its settings with their defaults and checks, read from the config file,
 *   `TOLLSTREAM_*` variables and flags as the platform's are, and handed back by `sectionSettings`;
 * - what the server opens for it before it starts (`prepare`): streams delivered into warehouse tables, and what
 *   it needs of the notifications shared with deployed functions (topics mirrored to streams, how alerts leave);
 * - the streams it needs (`streams`), created at start with those the operator declares;
 * - what it runs (`start` of the prepared app): its streams, continuous queries and functions, created through the doors in
 *   `AppContext`, and its HTTP route modules for the gateway to mount;
 * - reference data (`referenceData`): warehouse tables replaced as a whole by `PUT /v1/reference/{name}` (and a
 *   file of its config at start), each with what the app does after a load (e.g. follow it into a stream);
 * - warehouse tables (`warehouseTables`) and reports over them (`reports`), served with the platform's;
 * - metrics of its own kept in the console's metrics history (`historySeries`);
 * - browser pages (`web`): pages of its own served at their paths (the customer app at /app/), and pages added to
 *   the operator console's menu, built with the console by `npm run build:web`.
 * Everything it starts is stopped through `undo`, in reverse order, with the rest of the server.
 */
import type { ConfigSection, DeclaredStream, TollstreamConfig } from '../config/index.ts';
import type { Logger } from '../core/logger.ts';
import type { FunctionsRuntime } from '../functions/index.ts';
import type { Authenticator, RouteModule } from '../gateway/index.ts';
import type { StreamLog } from '../log/index.ts';
import type { HistorySeries, Registry } from '../metrics/index.ts';
import type { MirrorRoute, Notifications, NotifyOptions } from '../notify/index.ts';
import type { QueryManager } from '../queries/index.ts';
import type { ReferenceTable, ReportDefinition } from '../reports/index.ts';
import type { Tables, TableStore } from '../tables/index.ts';
import type { TableSchema, Warehouse } from '../warehouse/index.ts';
import type { WebPages } from '../web/index.ts';

export type { ReferenceRow, ReferenceTable, ReportChart, ReportDefinition } from '../reports/index.ts';
export type { HistorySeries } from '../metrics/index.ts';
export type { ConsolePage, WebPage, WebPages } from '../web/index.ts';
export type { ConfigProblem, ConfigSection, Setting } from '../config/index.ts';
export { loadApps, type LoadAppsOptions } from './load.ts';

/**
 * The settings of an app's declared section in `config`: as loaded (defaults filled in, checked), or the section's
 * defaults when the config was built without the section.
 */
export function sectionSettings<T extends object>(config: TollstreamConfig, section: ConfigSection): T {
  const loaded = (config as unknown as Record<string, unknown>)[section.name];
  return (loaded ?? section.defaults) as T;
}

/** The config sections `app` declares, none, one or several. */
export function appConfigSections(app: Pick<App, 'configSection'>): readonly ConfigSection[] {
  const declared = app.configSection;
  if (declared === undefined) return [];
  return isSectionList(declared) ? declared : [declared];
}

function isSectionList(declared: ConfigSection | readonly ConfigSection[]): declared is readonly ConfigSection[] {
  return Array.isArray(declared);
}

/** Steps that stop what was started, run first to last when the server stops (push with `unshift`). */
export type Undo = Array<() => Promise<void> | void>;

export interface App {
  /** A short name, for logs and errors: `abc-tolls`, `station-alerts`. */
  readonly name: string;
  /**
   * The app's section of the config: its name, settings, checks and defaults (see `ConfigSection`), or several
   * sections (the station alerts' own and `reference` for their reference file); none for an app without settings.
   */
  readonly configSection?: ConfigSection | readonly ConfigSection[];
  /** Whether the config runs the app (its section's `enabled`). */
  enabled(config: TollstreamConfig): boolean;
  /**
   * Its reference data, served whether it runs or not (so it starts from the newest data when it is turned on):
   * each a warehouse table, created with the platform's, that `PUT /v1/reference/{name}` replaces as a whole.
   */
  referenceData?(config: TollstreamConfig, log: StreamLog): readonly ReferenceTable[];
  /**
   * Streams it needs, created at start when it runs and they are missing, with the operator's `streams`: a stream
   * the operator declares too is created as the operator declares it, and one two apps declare as the first does.
   */
  streams?(config: TollstreamConfig): readonly DeclaredStream[];
  /**
   * Warehouse tables it declares, created with the platform's whether or not the app runs (their rows stay); the
   * one named like `delivery.stream` is the one the server delivers that stream into.
   */
  readonly warehouseTables?: readonly TableSchema[];
  /**
   * Metrics of its own kept in the console's metrics history (`/v1/metrics/history`) beside the platform's, whether
   * or not it runs (the history it left stays readable).
   */
  readonly historySeries?: readonly HistorySeries[];
  /** Named reports over the warehouse, served with the platform's at `/v1/reports` whether or not the app runs (its data stays). */
  readonly reports?: readonly ReportDefinition[];
  /**
   * Its browser pages: pages of its own (each at `/<path>/`) and pages of the operator console, whether or not it runs
   * (like its reports). `npm run build:web` builds the shipped apps' (`src/apps/web.ts`) with the console; the server
   * serves a declared page from the build's folder of its path and lists the console pages at /console/pages.json.
   */
  readonly web?: WebPages;
  /**
   * Called when the app is enabled, before the server opens the shared stores: what the server opens for it, and
   * how it starts. State the app needs between the two (e.g. how alerts leave) lives in the prepared app, so one
   * `App` serves any number of servers in one process.
   */
  prepare(setup: AppSetup): PreparedApp;
}

export interface PreparedApp extends AppNeeds {
  /**
   * Starts the app: creates its streams, queries and functions through the doors of `ctx` and pushes their stops
   * on `undo`. Resolves undefined when the app cannot run with this config and said why in the log.
   */
  start(ctx: AppContext, undo: Undo): Promise<RunningApp | undefined>;
}

export interface AppSetup {
  readonly config: TollstreamConfig;
  readonly log: StreamLog;
  readonly logger: Logger;
  /** Whether the server runs a warehouse (`warehouse.enabled`). */
  readonly warehouse: boolean;
  /** The server's own secret, the same on every node of a cluster: for signing what the app hands out (links). */
  readonly secret: Buffer;
  /** Where the server is to listen (`http://host:port`); the bound address reaches `RunningApp.listening`. */
  readonly serverUrl: string;
}

export interface AppNeeds {
  /** Streams the server delivers into warehouse tables, exactly once and under leases like the toll delivery. */
  readonly warehouseFeeds?: readonly WarehouseFeed[];
  /** The tables, notifications and functions runtime of `<dataDir>/tables.db`, shared with deployed functions. */
  readonly sharedStores?: {
    /** Notification topics the dispatcher also appends to log streams. */
    readonly mirror?: readonly MirrorRoute[];
    /** How notifications leave besides the inbox and webhooks. */
    readonly notifyOptions?: Pick<NotifyOptions, 'webPush' | 'email' | 'render'>;
  };
}

/** A log stream delivered into a warehouse table; the delivery is named after the stream. */
export interface WarehouseFeed {
  readonly stream: string;
  readonly table: string;
  /** Creates the stream when missing, before its delivery starts. */
  ensureStream(log: StreamLog, logger: Logger): Promise<void>;
}

/**
 * The stores the server shares between apps and deployed functions: notifications in `<dataDir>/tables.db`, and
 * tables with their functions runtime in the same file, or on a node of a cluster in PostgreSQL, shared by the
 * nodes (docs/cluster.md).
 */
export interface SharedStores extends AppStores {
  /** The shared tables on SQLite, which the notifications are in (on a cluster node, not where `store` is). */
  readonly tables: Tables;
}

/**
 * Tables, notifications and a functions runtime: the shared ones (`SharedStores`) or an app's own
 * (`AppContext.openStores`). The server chooses where they are; the app uses them the same way everywhere.
 */
export interface AppStores {
  /**
   * The tables `functions` commits to: an app keeps its own state here. On SQLite on one node; on a node of a
   * cluster in PostgreSQL, where every node sees them and each shard of a mapping runs on one node at a time.
   */
  readonly store: TableStore;
  /** Notifications; what `functions` publishes in a transaction reaches them. */
  readonly notify: Notifications;
  readonly functions: FunctionsRuntime;
}

/** Where an app's own functions and notifications join the server's `/metrics`, console and dead letters. */
export interface ConsumerRegistry {
  addFunctions(runtime: FunctionsRuntime): void;
  /** `name` names the store where its dead letters are listed. */
  addNotify(name: string, notify: Notifications): void;
}

export interface AppContext {
  readonly config: TollstreamConfig;
  readonly log: StreamLog;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly consumers: ConsumerRegistry;
  /** Checks the operator's key and refuses a credential as the operator's (`refuseAsOperator`). */
  readonly authenticator: Authenticator;
  /** The continuous queries; undefined with `queries.enabled: false`. */
  readonly queries: QueryManager | undefined;
  /** The warehouse; undefined with `warehouse.enabled: false`. */
  readonly warehouse: Warehouse | undefined;
  /** The shared stores; set when `prepare` asked for them. */
  readonly shared: SharedStores | undefined;
  /**
   * Opens tables, notifications and a functions runtime of the app's own, apart from the shared stores, named
   * `name` (lower-case letters, digits and -, at most 40), and pushes their stops on `undo`. Their functions and
   * notifications are counted in `/metrics` and the console with the others (notifications under `name`).
   */
  openStores(name: string, undo: Undo): Promise<AppStores>;
}

export interface RunningApp {
  /** Route modules for the gateway to mount. */
  readonly routes: readonly RouteModule[];
  /** Ends open response streams (SSE); called before the gateway closes, which waits for open requests. */
  endStreams?(): void;
  /** Called once the gateway listens, with the server's URL (the bound port when the config asked for port 0). */
  listening?(url: string): void;
}
