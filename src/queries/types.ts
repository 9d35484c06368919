/** The shapes of the query manager: what a user sends, what is stored, what is reported. */
import type { InferredColumns, OutputKeyMode } from '../sql/index.ts';

export interface CreateQueryRequest {
  /** 1 to 64 of `[a-zA-Z0-9_-]`. Also names the error stream `<name>_errors`. */
  readonly name: string;
  readonly sql: string;
  /**
   * The log stream behind a Kinesis-dialect application's input `SOURCE_SQL_STREAM_001`
   * (e.g. `'toll_transactions'`). @default 'SOURCE_SQL_STREAM_001'
   */
  readonly input?: string;
  /** SQL input name -> log stream, for any input (overrides `input`). Flink tables name theirs with `'stream'`. */
  readonly inputs?: Readonly<Record<string, string>>;
  /** SQL output stream name -> log stream (e.g. `DESTINATION_SQL_STREAM` -> `customer_spend`). @default the same name */
  readonly outputs?: Readonly<Record<string, string>>;
  /**
   * Where the query starts reading its inputs: `TRIM_HORIZON`, `LATEST` or a time (ISO 8601, or ms since the
   * epoch); see start-position.ts. @default 'TRIM_HORIZON'
   */
  readonly startPosition?: string | number;
}

/** What is persisted so the query restarts with the server. */
export interface QueryDefinition {
  readonly name: string;
  readonly sql: string;
  /** SQL input name -> log stream, resolved at create time. */
  readonly inputs: Readonly<Record<string, string>>;
  /** SQL output name -> log stream. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly errorStream: string;
  /** Columns inferred at create time for inputs the SQL does not declare (kept so a restart plans the same query). */
  readonly inferred: Readonly<Record<string, InferredColumns>>;
  readonly createdAt: number;
  /** The arrival time (ms) from which the inputs are read until the first checkpoint; absent: from the beginning. */
  readonly startAt?: number;
  /** Stopped by the user: not resumed at start. */
  readonly stopped: boolean;
}

/** Per shard of an input stream: the last sequence number taken in, or 'done' for a closed shard read to its end. */
export type ShardPositions = Record<string, string>;

/** Records of one shard of an input stream a query has not yet covered by a stored checkpoint. */
export interface QueryShardLag {
  readonly query: string;
  readonly stream: string;
  readonly shardId: string;
  readonly records: number;
  /** Arrival time (ms since the epoch) of the oldest record behind; null when none is (see `shardBacklog`). */
  readonly oldestArrivalTime: number | null;
}

export interface Checkpoint {
  readonly version: 1;
  readonly id: number;
  readonly takenAt: number;
  /** Every task's state (task id -> state), as the engine reported them at this barrier. */
  readonly states: Record<string, unknown>;
  /** Input log stream -> shard positions at the barrier. */
  readonly positions: Record<string, ShardPositions>;
  /** Output stream -> the sink writer's key counters at the barrier. */
  readonly sinks: Record<string, unknown>;
  /**
   * States and key counters serialized (`v8.serialize`) on the query thread that took them, by task and by
   * output, and handed on unopened: the store's checkpoint thread opens them into `states` and `sinks`, so a
   * large state is never decoded on the main thread. Only a checkpoint being saved has them.
   */
  readonly sealed?: SealedStates;
}

/** A checkpoint's states and key counters still in the bytes their query thread serialized them to. */
export interface SealedStates {
  readonly states: Record<string, Uint8Array>;
  readonly sinks: Record<string, Uint8Array>;
}

/** `ELSEWHERE`: a cluster node's view of a query it does not run, which is not stopped: the node holding its lease runs it. */
export type QueryState = 'STARTING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED' | 'ELSEWHERE';

export interface QueryStats {
  /** Input records taken in per second (over the last sampling interval, about one checkpoint interval). */
  readonly rowsInPerSecond: number;
  /** Rows written to output streams per second (error stream excluded). */
  readonly rowsOutPerSecond: number;
  readonly rowsInTotal: number;
  readonly rowsOutTotal: number;
  readonly lateRows: number;
  /** Error-stream rows, late rows included. */
  readonly errors: number;
  /** The lowest source watermark (ISO 8601), null before the first row. */
  readonly watermark: string | null;
  /** How far the slowest input shard is behind its newest record, ms. */
  readonly lagMs: number;
  /** Output rows buffered, not yet appended. */
  readonly pendingOutputRows: number;
  readonly lastCheckpoint: { readonly id: number; readonly at: string; readonly durationMs: number; readonly bytes: number } | null;
}

export interface QueryInfo {
  readonly name: string;
  readonly sql: string;
  readonly state: QueryState;
  /** Why the query failed (FAILED). */
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly inputs: readonly { readonly name: string; readonly stream: string }[];
  /**
   * `emittedUpTo`: the output's rows for every event time before it (every window ending at or before it) are in
   * the stream, durably (ISO 8601); null until known in this run. See queries.md, "Output completeness".
   */
  readonly outputs: readonly { readonly name: string; readonly stream: string; readonly keyMode: OutputKeyMode; readonly partitionKey: readonly string[]; readonly emittedUpTo: string | null }[];
  readonly errorStream: string;
  readonly createdAt: string;
  /** The arrival time (ISO 8601) from which the query read its inputs, or null when it read them from the beginning. */
  readonly startAt: string | null;
  readonly stats: QueryStats;
}

/**
 * The lease a write of a query's state is fenced by (a cluster): the write commits only while `owner` holds the
 * lease `key` at `epoch`, unexpired, checked in the write's own transaction.
 */
export interface LeaseFence {
  readonly key: string;
  readonly owner: string;
  readonly epoch: number;
}

/**
 * Where query definitions and checkpoints are kept: files in the data directory (`QueryStore`, one node) or
 * PostgreSQL (`PostgresQueryStore`, a cluster). Both pass `conformance.ts`.
 */
export interface QueryStateStore {
  /** For logs: the folder, or `postgres:<schema>`. */
  readonly description: string;
  /** Every stored definition, oldest first. */
  listDefinitions(): Promise<QueryDefinition[]>;
  /**
   * Stores (replaces) a definition atomically. `create`: only if no definition of that name is stored
   * (`QUERY_EXISTS` otherwise), so two nodes creating one name at once do not both succeed.
   */
  saveDefinition(def: QueryDefinition, options?: { readonly create?: boolean }): Promise<void>;
  /**
   * The newest checkpoint that reads back whole, or null; checkpoints saved next continue its chain. `fence`:
   * see `saveCheckpoint` (a store that cleans a damaged chain up does so only under it).
   */
  loadCheckpoint(name: string, fence?: LeaseFence | null): Promise<Checkpoint | null>;
  /**
   * Stores a checkpoint as the newest; resolves with the bytes written once durable. With a fence the write
   * commits only while the lease is held (`LEASE_LOST` otherwise); `null`: the lease is not held, refused at once.
   * A store of one node's files has no leases and ignores it.
   */
  saveCheckpoint(name: string, checkpoint: Checkpoint, fence?: LeaseFence | null): Promise<number>;
  /** Forgets what the store keeps in memory for a query (its merged state): it runs elsewhere now. */
  forget(name: string): Promise<void>;
  /** Removes a query's definition and checkpoints (and, on PostgreSQL, its lease). */
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}
