/**
 * What a consumer has still to read of one shard, from its last committed position: how many records, and the
 * arrival time of the oldest of them. The one definition of consumer lag that functions, deliveries and queries
 * report (`tollstream_consumer_lag_records` and `tollstream_consumer_lag_seconds`): the lag in time is now minus
 * that arrival time, 0 when nothing is behind (Kinesis' IteratorAge for a consumer at the tip), so it stays
 * right across restarts and idle hours instead of freezing at the age of the last batch processed.
 */
import { TollstreamError } from '../core/errors.ts';
import type { StreamLog } from './types.ts';

export interface ShardBacklog {
  readonly records: number;
  /** Arrival time (ms since the epoch) of the oldest record after the position; null when none is behind. */
  readonly oldestArrivalTime: number | null;
}

/**
 * `position` is the sequence number of the last record committed, or undefined when none is (all retained
 * records are behind). Needs `log.recordsAfter`; reads at most one record, and only when some are behind.
 */
export async function shardBacklog(
  log: Pick<StreamLog, 'read'> & Required<Pick<StreamLog, 'recordsAfter'>>,
  stream: string,
  shardId: string,
  position: string | undefined,
): Promise<ShardBacklog> {
  const records = log.recordsAfter(stream, shardId, position);
  if (records === 0) return { records, oldestArrivalTime: null };
  try {
    const read = await log.read(stream, shardId, position === undefined ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: position }, { maxRecords: 1 });
    return { records, oldestArrivalTime: read.records[0]?.arrivalTime ?? null };
  } catch (err) {
    // Trimmed or resharded between the count and the read: the count stands, the age is unknown this time.
    if (err instanceof TollstreamError && (err.code === 'SEQUENCE_NOT_FOUND' || err.code === 'SHARD_NOT_FOUND')) return { records, oldestArrivalTime: null };
    throw err;
  }
}

/** Seconds from `arrivalTime` to `now`, 0 when nothing is behind (or a clock step put the arrival ahead). */
export function lagSeconds(oldestArrivalTime: number | null, now: number): number {
  return oldestArrivalTime === null ? 0 : Math.max(0, now - oldestArrivalTime) / 1000;
}
