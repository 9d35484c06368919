/**
 * The contract of tables: named tables of JSON items, keyed by a partition key and an optional sort key,
 * with conditional writes, atomic counters, range queries and transactions that also carry stream
 * consumer checkpoints.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** Where an item lives. `sk` is required in a table created with `sortKey: true` and forbidden otherwise. */
export interface Key {
  readonly pk: string;
  readonly sk?: string;
}

export interface Item<V extends JsonObject = JsonObject> {
  readonly pk: string;
  /** Present only in tables with a sort key. */
  readonly sk?: string;
  readonly value: V;
  /** 1 after the first write, incremented by every write; for optimistic concurrency (`{ version: n }`). */
  readonly version: number;
  /** Milliseconds since the epoch of the last write. */
  readonly updatedAt: number;
}

export type CompareOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

/**
 * A condition on the current item, checked inside the write's transaction. `attr` is a top-level
 * attribute or a dotted path into nested objects (`limits.monthly`). A comparison with a missing attribute
 * or a value of another type is false, as in DynamoDB.
 */
export type Condition =
  /** `absent`: the item does not exist (DynamoDB's `attribute_not_exists(pk)`); `present`: it does. */
  | { readonly item: 'absent' | 'present' }
  /** The item exists and has exactly this version. */
  | { readonly version: number }
  | { readonly attr: string; readonly op: CompareOp; readonly value: JsonValue }
  | { readonly attr: string; readonly op: 'attribute_exists' | 'attribute_not_exists' }
  | { readonly attr: string; readonly op: 'begins_with'; readonly value: string }
  | { readonly and: readonly Condition[] }
  | { readonly or: readonly Condition[] }
  | { readonly not: Condition };

export interface WriteOptions {
  /** The write happens only if this holds; otherwise it throws `CONDITION_FAILED` and changes nothing. */
  readonly condition?: Condition;
}

export interface UpdateSpec extends WriteOptions {
  /**
   * Numbers added to attributes (dotted paths allowed); a missing attribute counts as 0. Integers stay
   * exact; a sum outside ±(2^53-1) is rejected.
   */
  readonly add?: Readonly<Record<string, number>>;
  /** Attributes set to these values (dotted paths allowed; missing parents are created as objects). */
  readonly set?: Readonly<Record<string, JsonValue>>;
  /** Attributes removed (dotted paths allowed). */
  readonly remove?: readonly string[];
}

/**
 * Which sort keys a query returns. Bounds combine (all must hold). Sort keys compare by Unicode code point,
 * which is also the byte order of their UTF-8 form.
 */
export interface SortKeyRange {
  readonly beginsWith?: string;
  readonly gt?: string;
  readonly gte?: string;
  readonly lt?: string;
  readonly lte?: string;
}

export interface QueryOptions {
  readonly sk?: SortKeyRange;
  /** At most this many items per page, 1 to 1000. @default 100 */
  readonly limit?: number;
  /** The `cursor` of the previous page; continues right after it with the same table, pk and range. */
  readonly cursor?: string;
  /** @default 'asc' */
  readonly order?: 'asc' | 'desc';
}

export interface ScanOptions {
  /** At most this many items per page, 1 to 1000. @default 100 */
  readonly limit?: number;
  /** The `cursor` of the previous page of a scan of the same table. */
  readonly cursor?: string;
}

export interface QueryResult<V extends JsonObject = JsonObject> {
  readonly items: readonly Item<V>[];
  /** Set when more items may follow: pass it back as `cursor`. */
  readonly cursor?: string;
}

export interface TableDescription {
  readonly name: string;
  readonly sortKey: boolean;
  readonly createdAt: number;
}

/** Where a stream consumer has got to in one shard. */
export interface Checkpoint {
  readonly consumer: string;
  readonly stream: string;
  readonly shardId: string;
  /** The last sequence number whose effects are committed. */
  readonly sequenceNumber: string;
  readonly updatedAt: number;
}

/** Item operations; available on `Tables` (each call its own transaction) and on a transaction's `tx`. */
export interface TableOps {
  get<V extends JsonObject = JsonObject>(table: string, key: Key): Item<V> | undefined;
  /** Writes the whole item. Returns the item as stored. */
  put<V extends JsonObject = JsonObject>(table: string, key: Key, value: V, options?: WriteOptions): Item<V>;
  /** Removes the item; returns what was removed (undefined if nothing was there). */
  delete<V extends JsonObject = JsonObject>(table: string, key: Key, options?: WriteOptions): Item<V> | undefined;
  /** Changes attributes in place, creating the item if needed; returns the new item. */
  update<V extends JsonObject = JsonObject>(table: string, key: Key, spec: UpdateSpec): Item<V>;
  /** Items of one partition key in sort key order, one page at a time. */
  query<V extends JsonObject = JsonObject>(table: string, pk: string, options?: QueryOptions): QueryResult<V>;
  /** Every item of a table in (pk, sk) order, one page at a time: for listings, never for a hot path. */
  scan<V extends JsonObject = JsonObject>(table: string, options?: ScanOptions): QueryResult<V>;
  getCheckpoint(consumer: string, stream: string, shardId: string): Checkpoint | undefined;
  listCheckpoints(consumer: string): readonly Checkpoint[];
}

/**
 * The handle inside `tables.transaction(fn)`. Everything written through it commits together or not at all.
 * Other components add methods to it (notifications add `publish`) by augmenting this interface.
 */
export interface TableTx extends TableTxCore {}

/** What tables alone put on a transaction handle; `TableTx` is this plus what other components add. */
export interface TableTxCore extends TableOps {
  /**
   * Records that `consumer` has applied the stream up to `sequenceNumber` in this shard. Committed with the
   * transaction's writes, so after a crash a redelivered batch can be recognized and skipped.
   */
  setCheckpoint(consumer: string, stream: string, shardId: string, sequenceNumber: string): void;
}

export interface TransactionOptions {
  /**
   * When the commit is flushed to disk before `transaction()` returns (with `synchronous: 'full'`).
   * `always`: every commit; it survives a power loss. `when-needed`: only when something in the transaction
   * has an effect outside the database (a published notification); otherwise the commit survives a process
   * crash but a power loss may roll it back, together with every later unflushed commit (never a part of
   * one). For stream functions, whose checkpoint commits with their state, so a rolled-back commit is redone
   * from the log. With `synchronous: 'normal'` no commit is flushed, whatever this says.
   * @default 'always'
   */
  readonly flush?: 'always' | 'when-needed';
}

export interface Tables extends TableOps {
  createTable(name: string, options?: { readonly sortKey?: boolean; readonly ifNotExists?: boolean }): TableDescription;
  /** Removes the table and all its items. */
  deleteTable(name: string): void;
  listTables(): readonly TableDescription[];
  describeTable(name: string): TableDescription;
  /**
   * Runs `fn` atomically: all its writes (items, checkpoints, outbox rows) commit when it returns and none
   * do if it throws (the error is rethrown). `fn` must be synchronous; it returns `fn`'s result.
   */
  transaction<T>(fn: (tx: TableTx) => T, options?: TransactionOptions): T;
  deleteCheckpoints(consumer: string): number;
  /** Closes the database; later calls throw. */
  close(): void;
}

/**
 * The asynchronous door: the same tables, items, conditions, queries and checkpoints as `Tables`, with every
 * operation returning a promise, so that a backend on a server (PostgreSQL) can serve it as well as SQLite.
 * `openPostgresTables` gives one on PostgreSQL, `sqliteTableStore(tables)` one over an open `Tables`.
 */
export interface StoreOps {
  get<V extends JsonObject = JsonObject>(table: string, key: Key): Promise<Item<V> | undefined>;
  put<V extends JsonObject = JsonObject>(table: string, key: Key, value: V, options?: WriteOptions): Promise<Item<V>>;
  delete<V extends JsonObject = JsonObject>(table: string, key: Key, options?: WriteOptions): Promise<Item<V> | undefined>;
  update<V extends JsonObject = JsonObject>(table: string, key: Key, spec: UpdateSpec): Promise<Item<V>>;
  query<V extends JsonObject = JsonObject>(table: string, pk: string, options?: QueryOptions): Promise<QueryResult<V>>;
  scan<V extends JsonObject = JsonObject>(table: string, options?: ScanOptions): Promise<QueryResult<V>>;
  getCheckpoint(consumer: string, stream: string, shardId: string): Promise<Checkpoint | undefined>;
  listCheckpoints(consumer: string): Promise<readonly Checkpoint[]>;
}

/**
 * The handle inside `store.transaction(fn)`. Other components add methods to it (notifications add
 * `publish`) by augmenting this interface, as they do `TableTx`.
 */
export interface StoreTx extends StoreTxCore {}

export interface StoreTxCore extends StoreOps {
  setCheckpoint(consumer: string, stream: string, shardId: string, sequenceNumber: string): Promise<void>;
  /** Runs `fn` inside this transaction as a savepoint: if it throws, only its own writes are undone (and the error rethrown). */
  transaction<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T>;
}

export interface TableStore extends StoreOps {
  /** Which backend this is, for logs and `/health`. */
  readonly backend: 'sqlite' | 'postgres';
  createTable(name: string, options?: { readonly sortKey?: boolean; readonly ifNotExists?: boolean }): Promise<TableDescription>;
  deleteTable(name: string): Promise<void>;
  listTables(): Promise<readonly TableDescription[]>;
  describeTable(name: string): Promise<TableDescription>;
  /**
   * Runs `fn` atomically: its writes, checkpoints and outbox rows commit when its promise resolves and none do
   * if it rejects (the error is rethrown). Transactions are serializable: each behaves as if it ran alone.
   * On PostgreSQL `fn` runs again from the start when the server reports a serialization conflict, up to a
   * bounded number of attempts, so it must have no effect outside `tx` (do that after the commit). Inside
   * `fn`, use `tx`: calling the store itself there is refused (it would wait for, or bypass, this transaction).
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T> | T, options?: TransactionOptions): Promise<T>;
  deleteCheckpoints(consumer: string): Promise<number>;
  /** Waits for running operations to end, then closes; later calls throw. */
  close(): Promise<void>;
}
