/**
 * Delivery (the Firehose role): types shared by the delivery stream, its destinations and its transform.
 */
import type { DeliveryErrorRow, DeliveryErrorType, Row, TableSchema } from '../warehouse/index.ts';

export type { DeliveryErrorRow, DeliveryErrorType };

/** Firehose's record transformation contract: one input per record of the batch. */
export interface TransformInputRecord {
  /** Unique within the batch: `<shardId>/<sequenceNumber>`. */
  readonly recordId: string;
  readonly data: Uint8Array;
  /** Milliseconds since the epoch when the log accepted the record. */
  readonly approximateArrivalTimestamp: number;
  readonly partitionKey: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

export type TransformResult = 'Ok' | 'Dropped' | 'ProcessingFailed';

export interface TransformOutputRecord {
  readonly recordId: string;
  readonly result: TransformResult;
  /** The transformed record (JSON of the table's fields); required with `Ok`. */
  readonly data?: Uint8Array;
  /** Why the record failed, kept in the error output (`ProcessingFailed` only). */
  readonly errorMessage?: string;
}

/**
 * Transforms one batch. Every input `recordId` must come back exactly once; a missing one counts as
 * `ProcessingFailed`. A transform that throws is retried (`transformRetries`), then its whole batch fails.
 */
export type TransformFunction = (records: readonly TransformInputRecord[]) => Promise<readonly TransformOutputRecord[]> | readonly TransformOutputRecord[];

/** What a destination writes atomically: rows, failed records, and the source positions they cover. */
export interface DestinationBatch {
  readonly stream: string;
  readonly rows: readonly Row[];
  readonly errors: readonly DeliveryErrorRow[];
  /** Shard id -> the last sequence number covered by the batch (delivered, dropped or failed alike). */
  readonly positions: Readonly<Record<string, string>>;
  /**
   * Shard id -> the position the delivery believes the destination holds before this batch (null: none). A
   * destination shared by several nodes refuses the batch (`DELIVERY_POSITION_CONFLICT`, naming the shard) when it
   * holds another; a destination only one node writes may ignore it.
   */
  readonly previous?: Readonly<Record<string, string | null>>;
}

export interface DeliveryDestination {
  /** For logs and stats, e.g. `warehouse:toll_transactions`. */
  readonly description: string;
  /** The table records are parsed into; the source columns (arrival_time, shard_id, sequence_number) come from the log. */
  readonly schema: TableSchema;
  /** Where delivery resumes: shard id -> last sequence number the destination holds. */
  positions(stream: string): Promise<Record<string, string>>;
  /**
   * Writes the batch and its positions so that either all of it or none of it is visible. Throws a
   * retriable error when the destination is unavailable, `WAREHOUSE_REJECTED` when it refuses the data.
   */
  write(batch: DestinationBatch): Promise<void>;
  close?(): Promise<void>;
}

export type DeliveryState = 'created' | 'running' | 'retrying' | 'stopped' | 'failed';

/** Records of one shard a delivery has not yet written into its destination. */
export interface DeliveryShardLag {
  readonly stream: string;
  readonly shardId: string;
  readonly records: number;
  /** Arrival time (ms since the epoch) of the oldest record behind; null when none is (see `shardBacklog`). */
  readonly oldestArrivalTime: number | null;
}

/** Plain counters and gauges, exported as metrics by the server (src/server/delivery-metrics.ts). */
export interface DeliveryStats {
  readonly name: string;
  readonly stream: string;
  readonly destination: string;
  readonly state: DeliveryState;
  /** Records read from the log since start. */
  readonly recordsRead: number;
  readonly rowsDelivered: number;
  readonly bytesDelivered: number;
  readonly batchesDelivered: number;
  /** Records the transform answered `Dropped`. */
  readonly recordsDropped: number;
  /** Records sent to the error output, by type. */
  readonly errors: Readonly<Record<DeliveryErrorType, number>>;
  /** Failed destination writes that were retried. */
  readonly destinationRetries: number;
  readonly bufferedRecords: number;
  readonly bufferedBytes: number;
  /**
   * Firehose's DataFreshness: age in seconds of the oldest record read but not yet delivered (0 when nothing
   * waits). Records still in the log and not yet read show in `millisBehindLatest`.
   */
  readonly dataFreshnessSeconds: number;
  /** The largest lag of the shard readers behind the newest record, in ms. */
  readonly millisBehindLatest: number;
  /** Milliseconds since the epoch of the last successful batch; null before the first. */
  readonly lastBatchTime: number | null;
  readonly lastBatchRows: number;
  readonly lastBatchDurationMs: number;
  readonly lastError: string | null;
}
