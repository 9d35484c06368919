/**
 * The one source of configuration defaults. Every key is documented here with its unit and default;
 * `docs/configuration.md` is this file in prose.
 */
import path from 'node:path';
import { checkDedupe, checkRetentionBytes, checkRetentionHours, checkShardCount, checkStreamName, type DedupeConfig } from '../log/index.ts';
import { assertFunctionName, checkFunctionSettings, type FunctionSettings } from '../functions/settings.ts';
import { DEFAULT_MAX_RESULT_ROWS, DEFAULT_QUERY_TIMEOUT_MS } from '../warehouse/query-limits.ts';
import { defaultQueryThreads } from '../queries/query-threads.ts';
import { DEFAULT_RETRY, RETRY_LIMITS } from '../notify/index.ts';

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface DeclaredStream {
  readonly name: string;
  /** @default 2 */
  readonly shardCount?: number;
  /** @default storage.retentionHours */
  readonly retentionHours?: number;
  readonly retentionBytes?: number;
  readonly dedupe?: DedupeConfig;
}

/** A function of `functions.deploy`: its name, stream and handler file, and any settings. */
export interface DeclaredFunction extends FunctionSettings {
  readonly name: string;
  readonly stream: string;
  readonly handler: string;
}

export interface TollstreamConfig {
  /** Where all data lives. @default './data' */
  readonly dataDir: string;
  /** Address the HTTP port binds to. @default '127.0.0.1' */
  readonly host: string;
  /** The one HTTP port (HTTP/1.1 and cleartext HTTP/2). @default 4566 */
  readonly port: number;
  readonly logging: {
    /** @default 'info' */
    readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
    /** @default 'json' */
    readonly format: 'json' | 'pretty';
  };
  readonly storage: {
    /**
     * `always`: a write is acknowledged only after it is fsynced (no acknowledged write is ever lost).
     * `interval`: writes are acknowledged once written to the OS and fsynced every `fsyncIntervalMs`;
     * a power loss (not a process crash) can lose up to `fsyncIntervalMs` of acknowledged writes.
     * @default 'always'
     */
    readonly fsync: 'always' | 'interval';
    /** Only with `fsync: 'interval'`. Milliseconds. @default 100 */
    readonly fsyncIntervalMs: number;
    /** A segment file rolls over past this size, in bytes. @default 67108864 (64 MiB) */
    readonly segmentBytes: number;
    /** One sparse index entry per this many bytes of batches. @default 4096 */
    readonly indexIntervalBytes: number;
    /** Default retention of new streams, in hours. @default 24 */
    readonly retentionHours: number;
    /**
     * Most segment files the log keeps open at once (file descriptors); past it the least recently used idle
     * one is closed and opened again when next used. @default 1024
     */
    readonly maxOpenFiles: number;
  };
  readonly auth: {
    /**
     * Access keys whose SigV4 signatures are verified. Empty (the default) is local mode: any well-formed
     * SigV4 request is accepted, as local Kinesis emulators do, and the native API needs no key.
     * @default []
     */
    readonly accessKeys: readonly AccessKey[];
    /**
     * API keys of the native API, stored hashed: `sha256:<hex of SHA-256 of the key>`
     * (`tollstream keys hash KEY` prints one). @default []
     */
    readonly apiKeys: readonly string[];
    /**
     * Refuse to start on an address beyond loopback (`host` other than 127.0.0.0/8, ::1, localhost) unless both
     * `apiKeys` and `accessKeys` are configured. `false` lets an open server listen on the network: dangerous,
     * anyone who reaches the port may read, write and delete data and issue customer tokens. @default true
     */
    readonly protectedMode?: boolean;
  };
  /**
   * Streams created at start if they do not exist, beside those the running apps declare (the shipped apps:
   * `delivery.stream`, 2 shards, deduped by `transaction_id`); a stream named here is created as declared here.
   * @default none
   */
  readonly streams: readonly DeclaredStream[];
  readonly warehouse: {
    /** Open the warehouse, deliver `delivery.stream` into it and serve reports and queries. @default true */
    readonly enabled: boolean;
    /** The DuckDB database file (one process holds it). @default `<dataDir>/warehouse.duckdb` (see `warehousePath`) */
    readonly path?: string;
    /** The backend: `duckdb` (a file in the data directory) or `postgres` (a server, see `postgresUrl`). @default 'duckdb' */
    readonly kind?: 'duckdb' | 'postgres';
    /**
     * With `kind: 'postgres'`, required: `postgres://user:password@host:5432/database`; the tables go into its
     * `public` schema. @default none
     */
    readonly postgresUrl?: string;
    /**
     * Most rows of a JSON answer of `/v1/warehouse/query` (and of a report); past it the query stops with
     * `WAREHOUSE_RESULT_TOO_LARGE`. `format=ndjson` and `format=csv` stream any number of rows. @default 100000
     */
    readonly maxResultRows?: number;
    /** A warehouse query (fetching and sending its rows included) is interrupted after this many ms. @default 60000 */
    readonly queryTimeoutMs?: number;
    /** Most memory DuckDB may use, in MiB, queries and loading together (DuckDB only). @default 1024 */
    readonly memoryLimitMiB?: number;
    /** Warehouse queries (SQL and reports) one caller may run at once; beyond, 429 `WAREHOUSE_TOO_MANY_QUERIES`. @default 2 */
    readonly queriesPerCaller?: number;
    /** Warehouse queries the server runs at once, all callers together; beyond, 429. @default 8 */
    readonly maxConcurrentQueries?: number;
  };
  readonly delivery: {
    /**
     * The log stream delivered into the warehouse table of the same name, which an app declares (`warehouseTables`;
     * without one nothing is delivered), and into the lake. @default 'toll_transactions'
     */
    readonly stream: string;
    /** Deliver a batch once this many MiB are buffered, 1 to 128 (Firehose's size hint). @default 4 */
    readonly bufferSizeMiB: number;
    /**
     * Deliver a batch once the oldest buffered record waited this many seconds, 0 to 900 (Firehose's interval
     * hint; Firehose defaults to 300, here it is short so reports see data within seconds). @default 1
     */
    readonly bufferIntervalSeconds: number;
  };
  readonly lake: {
    /** Also deliver `delivery.stream` into a Parquet data lake (a second, independent delivery). @default false */
    readonly enabled: boolean;
    /** Where the lake's files go. @default `<dataDir>/lake` (see `lakeDir`) */
    readonly dir?: string;
    /**
     * The size, in MiB (1 to 1024), the lake's files aim for: compaction merges a partition's small files up to it,
     * and the lake's delivery buffers up to this much (at most 128 MiB) before it writes. @default 128
     */
    readonly targetFileMiB: number;
    /** The lake's delivery writes what it buffered once the oldest record waited this long, in seconds (1 to 900). @default 300 */
    readonly maxWaitSeconds: number;
    /** Seconds between compaction passes (10 to 86400). @default 60 */
    readonly compactionIntervalSeconds: number;
  };
  /** The warehouse over PostgreSQL's wire protocol, for BI tools and psql (docs/warehouse.md, "BI tools"). DuckDB warehouse only. */
  readonly bi: {
    /** Listen for PostgreSQL clients. @default false */
    readonly enabled: boolean;
    /** A loopback address (127.0.0.0/8, ::1, localhost): there is no TLS. @default '127.0.0.1' */
    readonly host?: string;
    /** The port; 0 picks a free one. @default 5433 */
    readonly port?: number;
    /** The one user name clients sign in with. @default 'tollstream' */
    readonly user?: string;
    /**
     * Required with `enabled`: the password (12 characters or more; `TOLLSTREAM_BI_PASSWORD` keeps it out of the
     * file), or its SCRAM-SHA-256 verifier as PostgreSQL stores it (`SCRAM-SHA-256$4096:...`). @default none
     */
    readonly password?: string;
    /** Open client connections at most; more are refused (SQLSTATE 53300). @default 64 */
    readonly maxConnections?: number;
  };
  /** Continuous SQL queries on the log (`/v1/queries`), their definitions and checkpoints in `<dataDir>/queries`. */
  readonly queries: {
    /** Run queries (and resume the ones that were running at the last stop). @default true */
    readonly enabled: boolean;
    /** Time between checkpoints of a query's state and input positions, in ms: at most this much input is re-read after a crash. @default 1000 */
    readonly checkpointIntervalMs: number;
    /** Every how many checkpoints one holds the whole state; the others hold what changed since the one before. @default 10 */
    readonly checkpointFullEvery?: number;
    /**
     * Worker threads that run the queries' operators (reading fields, windows, output rows and their keys),
     * each query on one thread; the main thread reads the inputs, appends the output and stores checkpoints.
     * 0 keeps every query on the main thread. @default one per spare core (`os.availableParallelism() - 1`)
     */
    readonly threads?: number;
    /** Most heap one query thread may use, in MiB; past it the thread dies and its queries restart (`threadRestarts`). @default none (Node's own limit) */
    readonly threadMemoryMiB?: number;
    /** Times a query whose thread died is started again from its last checkpoint within 10 minutes; one more crash leaves it FAILED. @default 3 */
    readonly threadRestarts?: number;
    /**
     * The only directory a query's file reference tables ('path') may read from: a relative path starts here;
     * an absolute path elsewhere, `..` or a symbolic link out of it is refused (PATH_NOT_ALLOWED), because the
     * SQL comes from requests. Created at start. @default `<dataDir>/reference` (see `referenceDir`)
     */
    readonly referenceDir?: string;
  };
  /**
   * The user's own apps (docs/apps.md): paths of modules (TypeScript or JavaScript), each exporting an `App` as its
   * default export or as `app`, run by `tollstream up` beside the shipped ones; relative to where the server
   * starts. @default []
   */
  readonly apps: readonly string[];
  /** Deployed functions (docs/functions.md): users' handler modules on streams, each in worker threads. */
  readonly functions: {
    /** Run deployed functions and serve `/v1/functions` and the tables read API `/v1/tables`. @default true */
    readonly enabled: boolean;
    /**
     * Functions the server makes run as declared at every start (deployed, updated, or deleted when an entry
     * goes): `[{ "name": "...", "stream": "...", "handler": "./path/handler.ts", ...settings }]`, the settings
     * of docs/functions.md; `handler` is relative to where the server starts. @default []
     */
    readonly deploy: readonly DeclaredFunction[];
  };
  /** Limits on the HTTP port's connections and request bodies (docs/security.md, "Resource limits"), and CORS. */
  readonly http: HttpSettings;
  /** Notifications (docs/notify.md): how often a delivery to a webhook, browser or mailbox is tried before it is dead-lettered. */
  readonly notify: {
    readonly retry: {
      /** Attempts per delivery, the first included, 1 to 100; after the last failed one it is dead-lettered. @default 8 */
      readonly maxAttempts: number;
      /**
       * The backoff ceiling after the first failure, in ms, 1 to 300000: the next attempt waits a random time below it,
       * and the ceiling doubles per failure up to 5 minutes. @default 1000
       */
      readonly baseDelayMs: number;
    };
  };
  /** The history of metrics the console charts, kept in the stream `tollstream_metrics_history`. */
  readonly metrics: {
    /** Seconds between samples of the history; 0 records none. @default 10 */
    readonly historyIntervalSeconds: number;
    /** Hours the history is kept (the stream's retention). @default 48 */
    readonly historyRetentionHours: number;
  };
  /** The Kinesis API's behaviour where AWS's is optional here. */
  readonly kinesis: {
    /**
     * Apply AWS's per-shard write limits to the Kinesis and Firehose APIs (1 MiB/s and 1,000 records/s per shard,
     * `ProvisionedThroughputExceededException` beyond), so a producer's throttling path can be tested. @default false
     */
    readonly shardWriteLimits: boolean;
  };
  /**
   * Run as one node of a cluster: the stream log on a NATS JetStream cluster, tables, checkpoints and the outbox
   * on PostgreSQL. Absent (the default): everything embedded in `dataDir`. Setting any key requires
   * `natsServers`, `postgresUrl` and `nodeName`.
   */
  readonly cluster?: {
    /** NATS URLs of the JetStream cluster's servers: `["nats://10.0.0.1:4222", ...]`. */
    readonly natsServers: readonly string[];
    /** The PostgreSQL server of the cluster's tables: `postgres://user:password@host:5432/database`. */
    readonly postgresUrl: string;
    /** This node's name, unique in the cluster: 1 to 64 letters, digits, `_`, `.` or `-`. */
    readonly nodeName: string;
    /** Replicas of every JetStream stream the log creates, 1 to 5 (3 on separate machines in production). @default 3 */
    readonly replicas: number;
    /**
     * How long a work lease (one consumer on one shard) lasts after its last renewal, in ms: a dead node's work
     * is taken over this long after its last renewal. @default 10000
     */
    readonly leaseMs?: number;
    /**
     * Time between a node's lease rounds (heartbeat, renewals, balancing), in ms; at most a third of `leaseMs`.
     * A node that could not renew a lease for `leaseMs - leaseRenewMs` stops its work. @default 3000
     */
    readonly leaseRenewMs?: number;
  };
}

/**
 * Changes to a config built by hand (a test, a library entry point): the platform's sections, and the sections of
 * the apps that run, typed by `AppSections` (`{ readonly alerts: SpendAlertsSettings }`), as an app's helper builds
 * them (`{ ...spendAlertsConfig({ enabled: false }) }`). Any other key is refused by the compiler, so a misspelt
 * section is not silently ignored. @default AppSections none
 */
export type ConfigOverrides<AppSections extends object = Record<never, never>> = Partial<TollstreamConfig> & Partial<AppSections>;

export interface HttpSettings extends HttpLimits {
  /**
   * Origins (`https://app.example.com`) whose browser pages may call the gateway (CORS); `*` allows any page.
   * An origin not listed gets no CORS headers, so the browser keeps the answer from the page. @default []
   */
  readonly corsOrigins: readonly string[];
}

export interface HttpLimits {
  /** An HTTP/1.1 request's headers (and any connection's first bytes) must arrive within this, in ms. @default 10000 */
  readonly headersTimeoutMs: number;
  /** A request body that receives nothing for this long is answered 408 and its connection or stream closed, in ms. @default 30000 */
  readonly bodyTimeoutMs: number;
  /** An HTTP/1.1 keep-alive connection or HTTP/2 session with no request in progress is closed after this long, in ms. @default 65000 */
  readonly idleTimeoutMs: number;
  /** Open connections at most; more are closed as soon as they are accepted. @default 512 */
  readonly maxConnections: number;
  /** Bytes of request bodies being received at once, over all requests; a body beyond this is answered 503 with Retry-After. @default 268435456 (256 MiB) */
  readonly maxBodyBytesInFlight: number;
}

/** Defaults of the `cluster` section, applied when it is set. */
export const CLUSTER_DEFAULTS = { replicas: 3, leaseMs: 10_000, leaseRenewMs: 3000 } as const;

export const DEFAULT_CONFIG: TollstreamConfig = {
  dataDir: './data',
  host: '127.0.0.1',
  port: 4566,
  logging: { level: 'info', format: 'json' },
  storage: {
    fsync: 'always',
    fsyncIntervalMs: 100,
    segmentBytes: 64 * 1024 * 1024,
    indexIntervalBytes: 4096,
    retentionHours: 24,
    maxOpenFiles: 1024,
  },
  auth: { accessKeys: [], apiKeys: [], protectedMode: true },
  streams: [],
  warehouse: {
    enabled: true,
    kind: 'duckdb',
    maxResultRows: DEFAULT_MAX_RESULT_ROWS,
    queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
    memoryLimitMiB: 1024,
    queriesPerCaller: 2,
    maxConcurrentQueries: 8,
  },
  delivery: { stream: 'toll_transactions', bufferSizeMiB: 4, bufferIntervalSeconds: 1 },
  lake: { enabled: false, targetFileMiB: 128, maxWaitSeconds: 300, compactionIntervalSeconds: 60 },
  bi: { enabled: false, host: '127.0.0.1', port: 5433, user: 'tollstream', maxConnections: 64 },
  queries: { enabled: true, checkpointIntervalMs: 1000, checkpointFullEvery: 10, threads: defaultQueryThreads(), threadRestarts: 3 },
  apps: [],
  functions: { enabled: true, deploy: [] },
  http: { headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, idleTimeoutMs: 65_000, maxConnections: 512, maxBodyBytesInFlight: 256 * 1024 * 1024, corsOrigins: [] },
  kinesis: { shardWriteLimits: false },
  metrics: { historyIntervalSeconds: 10, historyRetentionHours: 48 },
  notify: { retry: { maxAttempts: DEFAULT_RETRY.maxAttempts, baseDelayMs: DEFAULT_RETRY.baseDelayMs } },
};

/** The warehouse file: `warehouse.path`, else `warehouse.duckdb` in the data directory. */
export function warehousePath(config: TollstreamConfig): string {
  return path.resolve(config.warehouse.path ?? path.join(config.dataDir, 'warehouse.duckdb'));
}

/** The warehouse's query limits, each the setting or its default (a config built by hand may leave them out). */
export function warehouseLimits(config: TollstreamConfig): Required<Pick<TollstreamConfig['warehouse'], 'maxResultRows' | 'queryTimeoutMs' | 'memoryLimitMiB' | 'queriesPerCaller' | 'maxConcurrentQueries'>> {
  const d = DEFAULT_CONFIG.warehouse;
  const w = config.warehouse;
  return {
    maxResultRows: w.maxResultRows ?? d.maxResultRows!,
    queryTimeoutMs: w.queryTimeoutMs ?? d.queryTimeoutMs!,
    memoryLimitMiB: w.memoryLimitMiB ?? d.memoryLimitMiB!,
    queriesPerCaller: w.queriesPerCaller ?? d.queriesPerCaller!,
    maxConcurrentQueries: w.maxConcurrentQueries ?? d.maxConcurrentQueries!,
  };
}

/** The lease timings, each the setting or its default (also without a cluster, and for a config built by hand). */
export function leaseTimings(cluster: TollstreamConfig['cluster']): { readonly leaseMs: number; readonly leaseRenewMs: number } {
  return { leaseMs: cluster?.leaseMs ?? CLUSTER_DEFAULTS.leaseMs, leaseRenewMs: cluster?.leaseRenewMs ?? CLUSTER_DEFAULTS.leaseRenewMs };
}

/**
 * How long a statement or a connection attempt on the lease table may take, in ms: `leaseMs - leaseRenewMs`, the time
 * a node keeps its work after it sent a renewal. An answer within that still keeps the lease, so giving up sooner only
 * drops work (or fails a start) that a loaded PostgreSQL server would have served in time; an answer later renews
 * nothing the node still works on, so waiting longer would only hold up its next round.
 */
export function leaseStoreTimeoutMs(timings: { readonly leaseMs: number; readonly leaseRenewMs: number }): number {
  return timings.leaseMs - timings.leaseRenewMs;
}

/** The Parquet lake's directory: `lake.dir`, else `lake` in the data directory. */
export function lakeDir(config: TollstreamConfig): string {
  return path.resolve(config.lake.dir ?? path.join(config.dataDir, 'lake'));
}

/** Where continuous queries' reference files live: `queries.referenceDir`, else `reference` in the data directory. */
export function referenceDir(config: TollstreamConfig): string {
  return path.resolve(config.queries.referenceDir ?? path.join(config.dataDir, 'reference'));
}

/**
 * The type of one setting, for validating files, environment variables and flags. A `check` returns what is wrong
 * with a value (the message follows the key: `must be ...`), or undefined when it is right.
 */
export type Setting =
  | { type: 'string'; check?: (value: string) => string | undefined }
  | { type: 'boolean' }
  | { type: 'integer'; min: number; max: number }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'json'; check: (value: unknown) => string | undefined };

/**
 * A section of the config that an app declares rather than the platform: its settings are read, layered and checked
 * as the platform's are (file, `TOLLSTREAM_<SECTION>_<KEY>` variables, flags), and refused naming the key.
 */
export interface ConfigSection {
  /** The section's top-level key in the config: a name the platform's settings do not use, such as `visits`. */
  readonly name: string;
  /** Each setting by its key inside the section (`enabled`, `email.smtpPort`). */
  readonly settings: Readonly<Record<string, Setting>>;
  /** The section's defaults, nested as in a config file; a setting without one is unset unless configured. */
  readonly defaults: Readonly<Record<string, unknown>>;
  /**
   * Settings that mean something only while a boolean setting (the section's or the platform's) is true, by full
   * key: `[['visits.archiveDir', 'warehouse.enabled']]`. Setting one while the other is false is refused, as
   * `lake.dir` is while `lake.enabled` is false. A key the section does not declare, or a switch that is no boolean
   * setting, is refused (CONFIG_INVALID naming the section and the key) when the section is loaded. @default none
   */
  readonly requiresEnabled?: ReadonlyArray<readonly [key: string, enabledKey: string]>;
  /**
   * Checks settings against each other once every layer is read, given the values set explicitly (not defaults) by
   * full key: the problem, naming the key, or undefined. @default none
   */
  check?(explicit: ReadonlyMap<string, unknown>): ConfigProblem | undefined;
  /**
   * Turns the checked section into what the app reads: paths resolved against `cwd` (where the server starts, as
   * `dataDir` is), files read. Throws CONFIG_INVALID naming the key when it cannot. @default the section as read
   */
  resolve?(values: Readonly<Record<string, unknown>>, cwd: string): Record<string, unknown>;
}

/** What is wrong with a config: the key to fix and the message, which names it. */
export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
}

export const SCHEMA: Record<string, Setting> = {
  dataDir: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'integer', min: 0, max: 65535 },
  'logging.level': { type: 'enum', values: ['debug', 'info', 'warn', 'error', 'silent'] },
  'logging.format': { type: 'enum', values: ['json', 'pretty'] },
  'storage.fsync': { type: 'enum', values: ['always', 'interval'] },
  'storage.fsyncIntervalMs': { type: 'integer', min: 1, max: 60_000 },
  'storage.segmentBytes': { type: 'integer', min: 4096, max: 1024 ** 3 },
  'storage.indexIntervalBytes': { type: 'integer', min: 64, max: 1024 * 1024 },
  'storage.retentionHours': { type: 'integer', min: 1, max: 8760 },
  'storage.maxOpenFiles': { type: 'integer', min: 8, max: 1_000_000 },
  'auth.accessKeys': { type: 'json', check: checkAccessKeys },
  'auth.apiKeys': { type: 'json', check: checkApiKeys },
  'auth.protectedMode': { type: 'boolean' },
  streams: { type: 'json', check: checkStreams },
  'warehouse.enabled': { type: 'boolean' },
  'warehouse.path': { type: 'string' },
  'warehouse.kind': { type: 'enum', values: ['duckdb', 'postgres'] },
  'warehouse.postgresUrl': { type: 'string', check: checkPostgresUrl },
  'warehouse.maxResultRows': { type: 'integer', min: 1, max: 10_000_000 },
  'warehouse.queryTimeoutMs': { type: 'integer', min: 100, max: 24 * 3600 * 1000 },
  'warehouse.memoryLimitMiB': { type: 'integer', min: 64, max: 1024 * 1024 },
  'warehouse.queriesPerCaller': { type: 'integer', min: 1, max: 1000 },
  'warehouse.maxConcurrentQueries': { type: 'integer', min: 1, max: 1000 },
  'delivery.stream': { type: 'string' },
  'delivery.bufferSizeMiB': { type: 'integer', min: 1, max: 128 },
  'delivery.bufferIntervalSeconds': { type: 'integer', min: 0, max: 900 },
  'lake.enabled': { type: 'boolean' },
  'lake.dir': { type: 'string' },
  'lake.targetFileMiB': { type: 'integer', min: 1, max: 1024 },
  'lake.maxWaitSeconds': { type: 'integer', min: 1, max: 900 },
  'lake.compactionIntervalSeconds': { type: 'integer', min: 10, max: 86_400 },
  'bi.enabled': { type: 'boolean' },
  'bi.host': { type: 'string' },
  'bi.port': { type: 'integer', min: 0, max: 65535 },
  'bi.user': { type: 'string', check: (v) => (/^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/.test(v) ? undefined : 'must be 1 to 63 letters, digits, _, . or -, starting with a letter or _') },
  'bi.password': { type: 'string', check: (v) => (v.length >= 12 || v.startsWith('SCRAM-SHA-256$') ? undefined : 'must be 12 characters or more, or a SCRAM-SHA-256 verifier') },
  'bi.maxConnections': { type: 'integer', min: 1, max: 10_000 },
  'queries.enabled': { type: 'boolean' },
  'queries.checkpointIntervalMs': { type: 'integer', min: 50, max: 600_000 },
  'queries.checkpointFullEvery': { type: 'integer', min: 1, max: 1000 },
  'queries.threads': { type: 'integer', min: 0, max: 64 },
  'queries.threadMemoryMiB': { type: 'integer', min: 16, max: 65_536 },
  'queries.threadRestarts': { type: 'integer', min: 0, max: 100 },
  'queries.referenceDir': { type: 'string', check: (v) => (v.trim() === '' ? 'must name a directory' : undefined) },
  'metrics.historyIntervalSeconds': { type: 'integer', min: 0, max: 3600 },
  'metrics.historyRetentionHours': { type: 'integer', min: 1, max: 8760 },
  'notify.retry.maxAttempts': { type: 'integer', ...RETRY_LIMITS.maxAttempts },
  'notify.retry.baseDelayMs': { type: 'integer', ...RETRY_LIMITS.baseDelayMs },
  apps: { type: 'json', check: checkAppModules },
  'functions.enabled': { type: 'boolean' },
  'functions.deploy': { type: 'json', check: checkDeclaredFunctions },
  // Node's HTTP/1.1 server needs the headers timeout at most its 300 s request timeout.
  'http.headersTimeoutMs': { type: 'integer', min: 100, max: 300_000 },
  'http.bodyTimeoutMs': { type: 'integer', min: 100, max: 3_600_000 },
  'http.idleTimeoutMs': { type: 'integer', min: 100, max: 3_600_000 },
  'http.maxConnections': { type: 'integer', min: 1, max: 1_000_000 },
  // At least the largest body (16 MiB, a native ingest request), so any accepted body can be read alone.
  'http.maxBodyBytesInFlight': { type: 'integer', min: 16 * 1024 * 1024, max: 64 * 1024 ** 3 },
  'cluster.natsServers': { type: 'json', check: checkNatsServers },
  'cluster.postgresUrl': { type: 'string', check: checkPostgresUrl },
  'cluster.nodeName': { type: 'string', check: (v) => (/^[a-zA-Z0-9_.-]{1,64}$/.test(v) ? undefined : "must be 1 to 64 letters, digits, '_', '.' or '-'") },
  'cluster.replicas': { type: 'integer', min: 1, max: 5 },
  'cluster.leaseMs': { type: 'integer', min: 300, max: 600_000 },
  'cluster.leaseRenewMs': { type: 'integer', min: 100, max: 200_000 },
  'http.corsOrigins': { type: 'json', check: checkCorsOrigins },
  'kinesis.shardWriteLimits': { type: 'boolean' },
};

function checkPostgresUrl(v: string): string | undefined {
  return /^postgres(ql)?:\/\/[^/\s]+/.test(v) ? undefined : 'must be a URL like postgres://user:password@host:5432/database';
}

function checkNatsServers(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty array of NATS URLs such as ["nats://10.0.0.1:4222"]';
  for (const [i, url] of v.entries()) {
    if (typeof url !== 'string' || !/^(nats|tls):\/\/[^/\s]+$/.test(url)) return `[${i}] must be a URL like nats://10.0.0.1:4222`;
  }
  return undefined;
}

/** A browser's `Origin`: scheme, host and optional port, no path. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/\s?#]+$/i;

function checkCorsOrigins(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of origins such as "https://app.example.com", or ["*"]';
  for (const [i, o] of v.entries()) {
    if (o === '*') continue;
    if (typeof o !== 'string' || !ORIGIN.test(o)) {
      return `[${i}] must be "*" or an origin: scheme://host[:port], without a path or a trailing slash (got ${JSON.stringify(o)})`;
    }
  }
  return undefined;
}


function checkAccessKeys(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of { accessKeyId, secretAccessKey }';
  for (const [i, k] of v.entries()) {
    if (typeof k !== 'object' || k === null) return `[${i}] must be an object`;
    const unknown = Object.keys(k).filter((x) => x !== 'accessKeyId' && x !== 'secretAccessKey');
    if (unknown.length) return `[${i}] has unknown key '${unknown[0]}'`;
    const { accessKeyId, secretAccessKey } = k as Record<string, unknown>;
    if (typeof accessKeyId !== 'string' || !accessKeyId) return `[${i}].accessKeyId must be a non-empty string`;
    if (typeof secretAccessKey !== 'string' || !secretAccessKey) return `[${i}].secretAccessKey must be a non-empty string`;
  }
  return undefined;
}

function checkApiKeys(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of "sha256:<hex>" strings';
  for (const [i, k] of v.entries()) {
    if (typeof k !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(k)) {
      return `[${i}] must be "sha256:" and 64 lowercase hex digits (hash a key with: tollstream keys hash KEY)`;
    }
  }
  return undefined;
}

const STREAM_KEYS = new Set(['name', 'shardCount', 'retentionHours', 'retentionBytes', 'dedupe']);
const DEDUPE_KEYS = new Set(['mode', 'field', 'windowSeconds']);

/** Declared streams, checked by the log's own rules so the config accepts exactly what the log will create. */
function checkStreams(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of { name, shardCount?, retentionHours?, retentionBytes?, dedupe? }';
  const seen = new Set<string>();
  for (const [i, s] of v.entries()) {
    if (typeof s !== 'object' || s === null) return `[${i}] must be an object`;
    const rec = s as Record<string, unknown>;
    const unknown = Object.keys(rec).find((k) => !STREAM_KEYS.has(k));
    if (unknown) return `[${i}] has unknown key '${unknown}'`;
    const name = rec.name as string;
    try {
      checkStreamName(name);
    } catch (err) {
      return `[${i}].name: ${(err as Error).message}`;
    }
    if (seen.has(name)) return `[${i}] declares stream '${name}' twice`;
    seen.add(name);
    const dedupe = rec.dedupe;
    if (typeof dedupe === 'object' && dedupe !== null) {
      const bad = Object.keys(dedupe).find((k) => !DEDUPE_KEYS.has(k));
      if (bad) return `[${i}].dedupe has unknown key '${bad}'`;
    }
    try {
      // Each of the log's messages begins with the key it checks ("retentionHours must be ...").
      if (rec.shardCount !== undefined) checkShardCount(rec.shardCount, name);
      if (rec.retentionHours !== undefined) checkRetentionHours(rec.retentionHours, name);
      checkRetentionBytes(rec.retentionBytes, name);
      checkDedupe(dedupe as DedupeConfig | undefined, name);
    } catch (err) {
      return `[${i}].${(err as Error).message}`;
    }
  }
  return undefined;
}

function checkAppModules(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of module paths such as ["./apps/my-app.ts"]';
  for (const [i, m] of v.entries()) {
    if (typeof m !== 'string' || m.trim() === '') return `[${i}] must be the path of an app module`;
    if (v.indexOf(m) !== i) return `[${i}] names the module '${m}' twice`;
  }
  return undefined;
}

function checkDeclaredFunctions(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be an array of { name, stream, handler, ...settings }';
  const seen = new Set<string>();
  for (const [i, f] of v.entries()) {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return `[${i}] must be an object`;
    const { name, stream, handler, ...settings } = f as Record<string, unknown>;
    if (typeof stream !== 'string' || stream === '') return `[${i}].stream must name a stream`;
    if (typeof handler !== 'string' || handler === '') return `[${i}].handler must be the path of a handler module`;
    try {
      assertFunctionName(name);
      checkFunctionSettings(name, stream, settings);
    } catch (err) {
      return `[${i}]: ${(err as Error).message}`;
    }
    if (seen.has(name)) return `[${i}] declares function '${name}' twice`;
    seen.add(name);
  }
  return undefined;
}

