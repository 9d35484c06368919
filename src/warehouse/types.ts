/**
 * The contract of the warehouse. Delivery and reports depend only on this file; backends (DuckDB and
 * PostgreSQL) implement it and run the shared suite in `conformance.ts`.
 */
import type { SqlDialect } from './dialect.ts';

export type { SqlDialect } from './dialect.ts';

/** Column types every backend can store. Money is `bigint` cents; timestamps are UTC without a zone. */
export type ColumnType = 'varchar' | 'smallint' | 'integer' | 'bigint' | 'timestamp';

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  /** @default false */
  readonly nullable?: boolean;
  /** For integer columns: the smallest and largest accepted values (checked when a record is parsed). */
  readonly min?: number;
  readonly max?: number;
  readonly description: string;
}

export interface TableSchema {
  readonly name: string;
  readonly description: string;
  readonly columns: readonly ColumnSchema[];
  /**
   * The primary key, for tables that need one (upserts, reference rows); data tables have none so appends
   * (DuckDB's INSERT, PostgreSQL's COPY) stay fast. @default none
   */
  readonly primaryKey?: readonly string[];
}

/**
 * One value of a row handed to `loadBatch`/`replaceRows`: strings for `varchar`, numbers (safe integers) or
 * bigints for integer types, milliseconds since the epoch (a number) for `timestamp`, null for nothing.
 */
export type RowValue = string | number | bigint | null;
export type Row = Readonly<Record<string, RowValue>>;

/** Firehose's error output types. */
export type DeliveryErrorType = 'processing-failed' | 'format-conversion-failed' | 'destination-failed';

/** A record that could not be delivered, kept with its raw bytes so nothing is lost. */
export interface DeliveryErrorRow {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly errorType: DeliveryErrorType;
  /** A short stable code, e.g. `invalid-json`, `schema-mismatch`, `transform-failed`, `WAREHOUSE_REJECTED`. */
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly rawData: Uint8Array;
  /** Milliseconds since the epoch when the log accepted the record. */
  readonly arrivalTime: number;
}

/** One failed record of `_delivery_errors` (a KPL aggregate's failed user records share it). */
export interface DeliveryErrorKey {
  readonly stream: string;
  readonly table: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** A row of `_delivery_errors` as `deliveryErrors` reads it back. */
export interface StoredDeliveryError extends DeliveryErrorKey {
  readonly errorType: DeliveryErrorType;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly rawData: Uint8Array;
  /** Milliseconds since the epoch. */
  readonly arrivalTime: number;
  /** Milliseconds since the epoch when delivery (or the last redrive) gave up on the record. */
  readonly failedAt: number;
  /** Milliseconds since the epoch when it was sent again and taken off the list; null while it is listed. */
  readonly redrivenAt: number | null;
}

export interface DeliveryErrorQuery {
  /** Only this record's rows, listed or not. @default every record's listed rows */
  readonly key?: DeliveryErrorKey;
  /** Most rows, newest `failed_at` first. @default 100 */
  readonly limit?: number;
}

/** What one redrive writes in ONE transaction (see `Warehouse.redriveDeliveryError`). */
export interface DeliveryErrorRedrive {
  readonly key: DeliveryErrorKey;
  /** How many listed rows of the record the caller read and sent again: fewer found means another redrive took them. */
  readonly listed: number;
  /** The rows loaded into `key.table`. */
  readonly rows: readonly Row[];
  /** The records that failed again, listed anew with their new error. */
  readonly errors: readonly DeliveryErrorRow[];
}

export interface BatchSource {
  readonly stream: string;
  /** The last sequence number covered by this batch, per shard (delivered, dropped or failed alike). */
  readonly positions: Readonly<Record<string, string>>;
  /**
   * Per shard (of `positions`), the position the warehouse must hold before this batch (null: none yet), or the
   * batch is refused with `DELIVERY_POSITION_CONFLICT`: a delivery that lost a shard to another node cannot load a
   * range the new owner loaded too. Shards not named here are only checked to move forward.
   */
  readonly previous?: Readonly<Record<string, string | null>>;
}

export interface LoadBatch {
  readonly table: string;
  readonly rows: readonly Row[];
  /** Records of the same source range that go to the error table instead (`_delivery_errors`). */
  readonly errors?: readonly DeliveryErrorRow[];
  readonly source: BatchSource;
}

export interface QueryColumn {
  readonly name: string;
  /** The backend's type name, e.g. `BIGINT`, `TIMESTAMP`, `VARCHAR`. */
  readonly type: string;
}

/** Values are JSON-safe: integers beyond 2^53 come back as decimal strings, timestamps as ISO 8601 strings. */
export type QueryValue = string | number | boolean | null;

export interface QueryResult {
  readonly columns: readonly QueryColumn[];
  readonly rows: readonly (readonly QueryValue[])[];
}

/** Limits of one query, over the backend's defaults (`maxResultRows`, `queryTimeoutMs` of its options). */
export interface QueryOptions {
  /** `query` only: most rows of the answer; one more stops the query with `WAREHOUSE_RESULT_TOO_LARGE`. */
  readonly maxRows?: number;
  /** The query (fetching its rows included) is interrupted after this many ms: `WAREHOUSE_QUERY_TIMEOUT`. */
  readonly timeoutMs?: number;
  /** Aborting interrupts the query (the caller went away); the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Where `streamQuery` hands its answer, chunk by chunk as the backend produces it. */
export interface QuerySink {
  /** Called once, before any rows. */
  columns(columns: readonly QueryColumn[]): void | Promise<void>;
  /** One chunk of rows (about 2,000); the next chunk is fetched only once the returned promise settles. */
  rows(rows: readonly (readonly QueryValue[])[]): void | Promise<void>;
}

/** Parameters bound by name (`$from` in the SQL is `{ from: ... }`); a Date binds as a timestamp. */
export type QueryParams = Readonly<Record<string, string | number | bigint | boolean | Date | null>>;

export interface Freshness {
  /** Now minus the newest arrival time among loaded rows, in seconds; null before anything was loaded. */
  readonly seconds: number | null;
  /** ISO 8601; null before anything was loaded. */
  readonly newestArrivalTime: string | null;
}

export interface Warehouse {
  /** The SQL dialect `query` speaks, for the few places where reports differ between backends. */
  readonly dialect: SqlDialect;
  /**
   * Creates the platform's tables (`TABLES`) and `extra` (tables an app declares) when missing, and knows them
   * from then on (`loadBatch`, `replaceRows`, `tableSchema`). Idempotent. @default extra: none
   */
  ensureSchema(extra?: readonly TableSchema[]): Promise<void>;
  /** The table `name` this warehouse knows: a platform table, or one given to `ensureSchema`. */
  tableSchema(name: string): TableSchema | undefined;
  /**
   * Inserts `rows` into `table`, `errors` into `_delivery_errors`, and moves the source positions forward,
   * all in ONE transaction: afterwards either all of it is visible or none of it. A position that does not
   * move forward is refused with `DELIVERY_POSITION_CONFLICT` (it would load a range twice).
   */
  loadBatch(batch: LoadBatch): Promise<void>;
  /** Rows of `_delivery_errors`, newest first: the listed ones (not yet sent again), or every row of one record. */
  deliveryErrors(query?: DeliveryErrorQuery): Promise<StoredDeliveryError[]>;
  /**
   * Sends one failed record again, in ONE transaction: marks its listed error rows as sent again (`redriven_at`),
   * inserts `rows` into its table and lists `errors` (the records that failed again) as new error rows. Refused
   * with `CONDITION_FAILED` when the record has fewer listed rows than `listed` (another redrive took them), so a
   * record is never loaded twice; data the table refuses raises `WAREHOUSE_REJECTED` and writes nothing.
   */
  redriveDeliveryError(redrive: DeliveryErrorRedrive): Promise<void>;
  /** The stored positions of `stream` delivered into `table`: shard id -> last sequence number. */
  positions(stream: string, table: string): Promise<Record<string, string>>;
  /** Replaces every row of a reference table (e.g. `station_reference`) in one transaction. */
  replaceRows(table: string, rows: readonly Row[]): Promise<void>;
  /**
   * Runs one read-only statement with bound parameters. Statements that write (INSERT, COPY, ATTACH, SET...)
   * are refused with `WAREHOUSE_READ_ONLY`; the statement also runs inside a read-only transaction.
   */
  query(sql: string, params?: QueryParams, options?: QueryOptions): Promise<QueryResult>;
  /**
   * `query` for answers of any size: the same checks and limits except the row cap, and the rows go to `sink`
   * a chunk at a time, the next fetched only once the sink took the last (backpressure). Resolves with the
   * number of rows once all were handed over.
   */
  streamQuery(sql: string, params: QueryParams, sink: QuerySink, options?: QueryOptions): Promise<{ rowCount: number }>;
  freshness(): Promise<Freshness>;
  close(): Promise<void>;
}
