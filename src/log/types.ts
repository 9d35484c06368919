/**
 * The contract of the stream log. Callers (gateway, SQL engine, functions, delivery) depend only on this
 * file; backends (the embedded on-disk log today, NATS JetStream later) implement it and run the shared
 * conformance suite in `src/log/conformance.ts`.
 *
 * Sequence numbers are decimal strings. Within a stream they are fixed-width, so for two records of the
 * same shard `a < b` as strings exactly when `a` was appended before `b`; they also compare correctly as
 * big integers (`BigInt(a) < BigInt(b)`), which is how Kinesis clients treat them.
 */

/** A record as a producer sends it. */
export interface AppendRecord {
  /** The payload, at most 1 MiB. */
  readonly data: Uint8Array;
  /** 1 to 256 Unicode characters; MD5 of its UTF-8 bytes picks the shard unless `explicitHashKey` is given. */
  readonly partitionKey: string;
  /** A decimal 128-bit integer that overrides the partition key's hash for shard selection. */
  readonly explicitHashKey?: string;
  /**
   * A producer-chosen key for deduplication (`dedupe.mode: 'key'`). A second append with the same key within
   * the stream's dedupe window is not stored again; its result names the first record.
   */
  readonly idempotencyKey?: string;
}

/** The outcome of one record of an append, in the order the records were given. */
export type AppendResult =
  | {
      readonly ok: true;
      readonly shardId: string;
      readonly sequenceNumber: string;
      /** True when the record was recognized as a producer retry and not stored a second time. */
      readonly duplicate: boolean;
    }
  | {
      readonly ok: false;
      /**
       * A Kinesis-style error code for this record alone (the rest of the request may have succeeded).
       * `InternalFailure`: the log could not store it (a storage failure); retrying later can succeed.
       */
      readonly errorCode: 'InternalFailure' | 'ProvisionedThroughputExceededException';
      readonly errorMessage: string;
    };

/** A record as stored and read back. */
export interface StoredRecord {
  readonly sequenceNumber: string;
  /**
   * Set only on a user record expanded from a KPL aggregate (`deaggregate`): its index within the aggregate,
   * which with `sequenceNumber` makes the KCL's extended sequence number. The log itself never sets it.
   */
  readonly subSequenceNumber?: number;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  /** The record's bytes. Readers of the same stream may be handed the same bytes: never write into them. */
  readonly data: Uint8Array;
  /** Milliseconds since the epoch when the log accepted the record (Kinesis' ApproximateArrivalTimestamp). */
  readonly arrivalTime: number;
}

export type StartPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequenceNumber: string }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: number };

export interface ReadLimits {
  /** At most this many records. @default 10000 */
  readonly maxRecords?: number;
  /** At most about this many bytes of record data; at least one record is returned if any is available. @default 10 MiB */
  readonly maxBytes?: number;
}

export interface ReadResult {
  readonly records: readonly StoredRecord[];
  /**
   * Where the next read of this shard starts. Pass it back to `read` (or `subscribe`) to continue. It is
   * `null` once a closed shard (a reshard parent) has been read to its end: continue with its children.
   */
  readonly next: StartPosition | null;
  /** How far behind the shard's newest record this read is, in ms (0 when at the tip). */
  readonly millisBehindLatest: number;
  /** Set when `next` is null: the shards that took over this shard's hash range. */
  readonly childShardIds?: readonly string[];
}

export interface HashKeyRange {
  /** Decimal 128-bit integers, inclusive. */
  readonly startingHashKey: string;
  readonly endingHashKey: string;
}

export interface ShardDescription {
  readonly shardId: string;
  readonly hashKeyRange: HashKeyRange;
  /** The shards this one took over from after a reshard (empty for an original shard). */
  readonly parentShardIds: readonly string[];
  readonly startingSequenceNumber: string;
  /** Set once the shard is closed by a reshard: the last sequence number it can ever hold. */
  readonly endingSequenceNumber?: string;
}

export interface DedupeConfig {
  /**
   * `field`: the record data is JSON and `field` (a top-level property) identifies the event.
   * `key`: the producer sends an `idempotencyKey` with each record.
   */
  readonly mode: 'field' | 'key';
  /** The JSON property for `mode: 'field'`, e.g. `transaction_id`. */
  readonly field?: string;
  /** How long a key is remembered, in seconds. @default 3600 */
  readonly windowSeconds?: number;
}

export interface StreamConfig {
  /** @default 1 */
  readonly shardCount?: number;
  /** Records older than this are reclaimed (whole segments at a time). @default 24 */
  readonly retentionHours?: number;
  /** Per shard, the oldest segments are reclaimed above this size. @default unlimited */
  readonly retentionBytes?: number;
  readonly dedupe?: DedupeConfig;
  /** Labels kept with the stream (key to value), e.g. owner or cost centre; at most 50. @default none */
  readonly tags?: StreamTags;
  /** How the stream's capacity is managed, as Kinesis' stream modes; recorded with the stream. @default 'provisioned' */
  readonly mode?: StreamMode;
}

/** `provisioned`: the owner sets the shard count; `on-demand`: the stream is billed and sized by use (Kinesis' ON_DEMAND). */
export type StreamMode = 'provisioned' | 'on-demand';

export type StreamTags = Readonly<Record<string, string>>;

/** A named reader registered on a stream (Kinesis enhanced fan-out consumers); kept with the stream. */
export interface StreamConsumer {
  /** 1 to 128 characters of `a-zA-Z0-9_.-`, unique within the stream. */
  readonly name: string;
  /** Milliseconds since the epoch when it was registered. */
  readonly createdAt: number;
}

export type StreamStatus = 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';

export interface StreamDescription {
  readonly name: string;
  readonly status: StreamStatus;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly retentionHours: number;
  readonly retentionBytes?: number;
  readonly dedupe?: DedupeConfig;
  /** The stream's tags; absent when it has none. */
  readonly tags?: StreamTags;
  readonly mode: StreamMode;
  /** The registered consumers, oldest first; absent when there is none. */
  readonly consumers?: readonly StreamConsumer[];
  /** All shards that still hold data or are open, parents before children. */
  readonly shards: readonly ShardDescription[];
  /** The number of open shards. */
  readonly openShardCount: number;
}

export interface StreamSummary {
  readonly name: string;
  readonly status: StreamStatus;
  readonly openShardCount: number;
  readonly createdAt: number;
  readonly mode: StreamMode;
}

/** Counters a backend keeps for `/metrics` and the console. */
export interface ShardStats {
  readonly stream: string;
  readonly shardId: string;
  readonly recordsIn: number;
  readonly bytesIn: number;
  readonly duplicatesDropped: number;
  /** Bytes on disk (or in the backend) now. */
  readonly storedBytes: number;
  readonly latestSequenceNumber?: string;
  readonly latestArrivalTime?: number;
  /** True while the shard refuses writes after a storage failure (see `StreamLog.health`). */
  readonly failed?: boolean;
  /** Storage failures that made the shard refuse writes, since the log opened. */
  readonly writeFailures?: number;
}

/** A shard that refuses writes after a storage failure, until it heals. */
export interface ShardFailure {
  readonly stream: string;
  readonly shardId: string;
  /** The failure, as its error message says it (the operation, the file, the system error). */
  readonly reason: string;
  /** When it failed, ms since the epoch. */
  readonly since: number;
}

export interface LogHealth {
  readonly failedShards: readonly ShardFailure[];
  /**
   * Whether the log's servers can be reached now: false while a networked backend has lost its connection (it
   * acknowledges no write until it is back). The embedded log, on this machine's disk, is always reachable.
   */
  readonly reachable: boolean;
}

/** The producer dedupe window of a stream that has one. */
export interface DedupeStats {
  readonly stream: string;
  /** Keys remembered now (at most the window's key bound). */
  readonly keys: number;
  /** Memory the window holds, in bytes; it grows with the keys up to their bound, then stays. */
  readonly bytes: number;
  /** Keys forgotten for the key bound while still within the window (a retry of one would be stored again). */
  readonly evictedEarly: number;
  /** Age of the oldest key kept, in seconds, at most the window (0 when it holds none): how far back it reaches. */
  readonly effectiveWindowSeconds: number;
}

export interface LogStats {
  readonly shards: readonly ShardStats[];
  /** One entry per stream with dedupe. */
  readonly dedupe?: readonly DedupeStats[];
  /** Durations of flushes to stable storage, in ms, since the last call (for a latency histogram). */
  readonly fsyncDurationsMs: readonly number[];
}

export interface Subscription extends AsyncIterable<ReadResult> {
  /** Stops the subscription; a pending iteration ends. */
  close(): void;
}

export interface StreamLog {
  createStream(name: string, config?: StreamConfig): Promise<StreamDescription>;
  /** Removes the stream and its data. */
  deleteStream(name: string): Promise<void>;
  listStreams(): Promise<readonly StreamSummary[]>;
  describeStream(name: string): Promise<StreamDescription>;
  /**
   * Uniform scaling to `targetShardCount` open shards (between half and double the current count, else
   * `LIMIT_EXCEEDED`; not a positive integer: `INVALID_ARGUMENT`). All open shards close and the new ones
   * split the hash key space uniformly; each new shard's parents are the closed shards overlapping it.
   */
  updateShardCount(name: string, targetShardCount: number): Promise<StreamDescription>;
  /**
   * Splits one open shard in two (Kinesis' SplitShard): the parent `[start, end]` closes, and children
   * `[start, key - 1]` and `[key, end]` (in that order, each naming the parent) take over. `newStartingHashKey`
   * must be a decimal in `start < key <= end` (else `INVALID_ARGUMENT`); a shard the stream does not have is
   * `SHARD_NOT_FOUND`, one already split or merged `SHARD_CLOSED`; past 1024 open shards `LIMIT_EXCEEDED`.
   */
  splitShard(name: string, shardId: string, newStartingHashKey: string): Promise<StreamDescription>;
  /**
   * Merges two open adjacent shards (one's ending hash key + 1 is the other's starting hash key) into one
   * child covering both ranges (Kinesis' MergeShards); the child's `parentShardIds` are
   * `[shardId, adjacentShardId]`. Not adjacent, or the same shard twice: `INVALID_ARGUMENT`; unknown:
   * `SHARD_NOT_FOUND`; already closed: `SHARD_CLOSED`.
   */
  mergeShards(name: string, shardId: string, adjacentShardId: string): Promise<StreamDescription>;
  updateRetention(name: string, retention: { retentionHours?: number; retentionBytes?: number | null }): Promise<StreamDescription>;
  /**
   * Sets tags (replacing the values of keys it already has) and removes keys (absent ones are ignored), as one
   * durable change. More than 50 tags, or a key or value that is not a string, is `INVALID_ARGUMENT`.
   */
  updateTags(name: string, change: { set?: StreamTags; remove?: readonly string[] }): Promise<StreamDescription>;
  /**
   * Registers a consumer, durably. A name the stream already has is `CONSUMER_EXISTS`; a 21st consumer is
   * `LIMIT_EXCEEDED`; a malformed name `INVALID_ARGUMENT`. Consumers go when their stream is deleted.
   */
  registerConsumer(name: string, consumerName: string): Promise<StreamConsumer>;
  /** Records the stream's mode, durably; anything but `provisioned` or `on-demand` is `INVALID_ARGUMENT`. */
  updateStreamMode(name: string, mode: StreamMode): Promise<StreamDescription>;
  /** Removes a consumer, durably; one the stream does not have is `NOT_FOUND`. */
  deregisterConsumer(name: string, consumerName: string): Promise<void>;

  /**
   * Appends records; each goes to the shard that owns its hash key. Resolves only after every stored
   * record is durable (flushed to stable storage under `fsync: 'always'`). Records of one call that land
   * on the same shard keep their order and are written as one batch. An invalid record (key length, data
   * size, explicit hash key) fails the whole call with `INVALID_ARGUMENT` and nothing is stored; a storage
   * failure is reported per record (`ok: false`).
   */
  append(stream: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]>;

  /**
   * Reads a batch from one shard, starting at `from`. Never waits for new records. A position before the
   * oldest retained record starts at the oldest retained record. A sequence number that is malformed or of
   * another shard is `INVALID_ARGUMENT`; one past the shard's newest record is `SEQUENCE_NOT_FOUND`.
   */
  read(stream: string, shardId: string, from: StartPosition, limits?: ReadLimits): Promise<ReadResult>;

  /**
   * Follows one shard from `from`: yields each batch as soon as it is durable, without polling.
   * Ends after the last batch of a closed shard (its `next` is null) or when closed / `signal` aborts,
   * and also when the stream is deleted or the log closes.
   */
  subscribe(stream: string, shardId: string, from: StartPosition, options?: ReadLimits & { signal?: AbortSignal }): Subscription;

  stats(): LogStats;

  /**
   * How many records of the shard come after `sequenceNumber` (all its retained records when undefined): what a
   * consumer whose last committed position is `sequenceNumber` has still to read. Left out by a backend that
   * cannot count them without reading them. `STREAM_NOT_FOUND`/`SHARD_NOT_FOUND` as `read`. No side effects.
   */
  recordsAfter?(stream: string, shardId: string, sequenceNumber: string | undefined): number;

  /** Shards refusing writes now and whether the log can be reached; a backend without such a state may leave it out. No side effects. */
  health?(): LogHealth;

  /** Flushes and releases files; later calls fail with `LOG_CLOSED`. */
  close(): Promise<void>;
}
