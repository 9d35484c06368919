/**
 * Functions triggered by streams (the Lambda role): a handler is attached to a stream by an event source
 * mapping with Lambda's knobs, and gets batches of records in order per shard (and per partition key).
 */
import type { Logger } from '../core/logger.ts';
import type { StoredRecord } from '../log/index.ts';
import type { StoreOps, StoreTx } from '../tables/index.ts';

/** One record as a handler sees it. */
export interface FunctionRecord {
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  /**
   * Set on a user record of a KPL aggregated record: its index within the aggregate (the KCL's sub-sequence
   * number). Every user record of an aggregate has the aggregate's `sequenceNumber`.
   */
  readonly subSequenceNumber?: number;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** ms since the epoch when the log accepted the record. */
  readonly arrivalTime: number;
  /** The data as UTF-8 text. */
  text(): string;
  /** The data parsed as JSON; throws a SyntaxError for data that is not JSON. */
  json<T = unknown>(): T;
}

export interface FunctionEvent {
  readonly mapping: string;
  readonly stream: string;
  readonly shardId: string;
  readonly records: readonly FunctionRecord[];
}

/**
 * What a handler may return. `batchItemFailures` (Lambda's ReportBatchItemFailures) names the first record
 * that failed: every record before it counts as done, and processing resumes (after a retry delay) at it.
 */
export type HandlerResult = void | undefined | { readonly batchItemFailures: readonly { readonly itemIdentifier: string }[] };

export interface TransactOptions {
  /**
   * The last sequence number whose effects this transaction holds; it becomes the checkpoint.
   * @default the last record of the batch
   */
  readonly through?: string;
}

export interface FunctionContext {
  readonly mapping: string;
  /** 1 on the first delivery of a batch, then 2, 3... on retries. */
  readonly attempt: number;
  readonly logger: Logger;
  /** Reads of tables (writes go through `transact`). */
  readonly tables: StoreOps;
  /**
   * Runs `fn` as one table transaction that also moves this mapping's checkpoint past the batch (or to
   * `through`). A batch delivered again after a crash is then recognized and skipped: its table writes and
   * notifications happen exactly once. Call it at most once per invocation, after any async work, and await
   * it. `fn` may be async, but should await only `tx` calls: it holds the transaction open while it waits.
   *
   * On PostgreSQL `fn` runs again from the start when the server reports a serialization conflict, so it
   * must have no effect outside `tx` (keep counters and appends outside, before or after `transact`). If the
   * commit fails, the invocation fails (and is retried), whatever the handler returns; the runtime waits for
   * a `transact` the handler did not await before it counts the batch.
   */
  transact<T>(fn: (tx: StoreTx) => Promise<T> | T, options?: TransactOptions): Promise<T>;
}

export type FunctionHandler = (event: FunctionEvent, context: FunctionContext) => HandlerResult | Promise<HandlerResult>;

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | { readonly timestamp: number };

/** An event source mapping: which stream feeds which handler, and how. Defaults follow Lambda's where sensible. */
export interface EventSourceMapping {
  /** Unique; names the checkpoints, so renaming a mapping starts it afresh. */
  readonly name: string;
  readonly stream: string;
  readonly handler: FunctionHandler;
  /** Records per invocation, 1 to 10000. @default 100 */
  readonly batchSize?: number;
  /** How long to gather records before invoking with a smaller batch, ms, 0 to 300000. @default 0 */
  readonly batchingWindowMs?: number;
  /** Where a mapping with no checkpoint starts. @default 'LATEST' */
  readonly startingPosition?: StartingPosition;
  /**
   * Concurrent invocations per shard, 1 to 10. Records of one partition key always go to the same lane,
   * so order per partition key holds. @default 1
   */
  readonly parallelizationFactor?: number;
  /** Retries of a failing batch before it goes to `onFailure`; -1 retries until the record is too old. @default -1 */
  readonly maximumRetryAttempts?: number;
  /** Records older than this (seconds since arrival) are not retried again; -1 for no limit. @default -1 */
  readonly maximumRecordAgeSeconds?: number;
  /** Split a failing batch in two and retry the halves, to isolate a poison record. @default false */
  readonly bisectBatchOnFunctionError?: boolean;
  /** A stream that receives the details of each batch given up on. */
  readonly onFailure?: { readonly stream: string };
  /** First retry delay, ms; doubles up to `retryMaxDelayMs`. @default 100 */
  readonly retryBaseDelayMs?: number;
  /** @default 10000 */
  readonly retryMaxDelayMs?: number;
}

/** Counters for `/metrics` and the console. */
export interface MappingStats {
  readonly name: string;
  readonly stream: string;
  invocations: number;
  errors: number;
  retries: number;
  recordsProcessed: number;
  recordsSkippedAsDone: number;
  recordsSentToOnFailure: number;
  /** Newest arrival time seen minus now, per shard, ms (Lambda's IteratorAge). */
  iteratorAgeMs: number;
  /** The last failed invocation: when (ms since the epoch), why, and the error code when it had one. */
  lastFailure?: { readonly at: number; readonly message: string; readonly code?: string };
}

/** How many records a mapping has still to process in one shard (see `FunctionsRuntime.lag`). */
export interface ShardLag {
  readonly mapping: string;
  readonly stream: string;
  readonly shardId: string;
  readonly records: number;
  /** Arrival time (ms since the epoch) of the oldest record behind; null when none is (see `shardBacklog`). */
  readonly oldestArrivalTime: number | null;
}

export type { StoredRecord };
