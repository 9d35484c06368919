/**
 * Kinesis' per-shard write limits, optional (`kinesis.shardWriteLimits`): each shard takes at most 1 MiB and
 * 1,000 records per second; a record beyond either fails on its own with `ProvisionedThroughputExceededException`
 * and is not stored, so a producer's throttling path (retrying the failed records of a PutRecords, backing off
 * on PutRecord) can be tested. One token bucket per shard, refilled from the clock when the shard is written:
 * no timers. It wraps the log the Kinesis and Firehose APIs see; nothing else (the native API, the platform's
 * own writers) is limited.
 */
import { shardForHashKey, type AppendRecord, type AppendResult, type StreamLog } from '../log/index.ts';

export interface ShardWriteLimits {
  /** Bytes per second per shard: data plus partition key (UTF-8), as Kinesis counts them. */
  readonly bytesPerSecond: number;
  readonly recordsPerSecond: number;
}

/** What AWS applies to a provisioned shard. */
export const KINESIS_SHARD_WRITE_LIMITS: ShardWriteLimits = { bytesPerSecond: 1024 * 1024, recordsPerSecond: 1000 };

interface Bucket {
  records: number;
  bytes: number;
  /** When the bucket was last refilled, ms. */
  at: number;
}

/** Buckets idle long enough to be full again are dropped once the map grows past this. */
const SWEEP_ABOVE = 1024;

/**
 * The log with `append` limited per shard; every other method is the log's own. `now` gives ms (it may be
 * the wall clock; a step back refills nothing).
 */
export function limitShardWrites(log: StreamLog, now: () => number, limits: ShardWriteLimits = KINESIS_SHARD_WRITE_LIMITS): StreamLog {
  const buckets = new Map<string, Bucket>();
  let sweepAbove = SWEEP_ABOVE;

  function bucketOf(key: string, t: number): Bucket {
    let b = buckets.get(key);
    if (!b) {
      if (buckets.size >= sweepAbove) sweep(t);
      b = { records: limits.recordsPerSecond, bytes: limits.bytesPerSecond, at: t };
      buckets.set(key, b);
      return b;
    }
    const elapsed = Math.max(0, t - b.at) / 1000;
    b.records = Math.min(limits.recordsPerSecond, b.records + elapsed * limits.recordsPerSecond);
    b.bytes = Math.min(limits.bytesPerSecond, b.bytes + elapsed * limits.bytesPerSecond);
    b.at = Math.max(b.at, t);
    return b;
  }

  function sweep(t: number): void {
    for (const [key, b] of buckets) if (t - b.at >= 1000) buckets.delete(key);
    sweepAbove = Math.max(SWEEP_ABOVE, buckets.size * 2);
  }

  async function append(stream: string, records: readonly AppendRecord[]): Promise<readonly AppendResult[]> {
    const { shards } = await log.describeStream(stream);
    const t = now();
    const admitted: AppendRecord[] = [];
    // Per record: undefined when admitted, else the shard that refused it.
    const refusedBy: Array<string | undefined> = [];
    for (const record of records) {
      // A record no open shard owns is the log's to refuse.
      const shard = shardForHashKey(shards, record);
      if (shard) {
        const b = bucketOf(`${stream}\u0000${shard.shardId}`, t);
        const bytes = record.data.length + Buffer.byteLength(record.partitionKey, 'utf8');
        if (b.records < 1 || b.bytes < bytes) {
          refusedBy.push(shard.shardId);
          continue;
        }
        b.records -= 1;
        b.bytes -= bytes;
      }
      refusedBy.push(undefined);
      admitted.push(record);
    }
    const stored = admitted.length > 0 ? await log.append(stream, admitted) : [];
    let next = 0;
    return refusedBy.map((shardId) =>
      shardId === undefined
        ? stored[next++]!
        : {
            ok: false as const,
            errorCode: 'ProvisionedThroughputExceededException' as const,
            errorMessage: `Rate exceeded for shard ${shardId} in stream ${stream}: at most ${limits.recordsPerSecond} records and ${limits.bytesPerSecond} bytes per second per shard (kinesis.shardWriteLimits)`,
          },
    );
  }

  // Every other method, present or added to the contract later, is the log's own, called on the log.
  return new Proxy(log, {
    get(target, property) {
      if (property === 'append') return append;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
