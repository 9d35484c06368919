/**
 * The shards of one stream as the console's per-shard view shows them: the `/v1/streams/{name}/shards` answer,
 * where each shard's hash key range falls in the key space, and the records in per shard from one `/metrics`
 * scrape. Plain TypeScript with no DOM use, so the tests import it under Node.
 */
import { samplesOf, type MetricFamily } from './prometheus.ts';

export interface ShardInfo {
  readonly shardId: string;
  readonly hashKeyRange: { readonly startingHashKey: string; readonly endingHashKey: string };
  readonly parentShardIds: readonly string[];
  readonly startingSequenceNumber: string;
  readonly endingSequenceNumber?: string;
  readonly open: boolean;
  readonly recordsIn: number;
  readonly bytesIn: number;
  readonly storedBytes: number;
  readonly latestSequenceNumber?: string;
  readonly latestArrivalTime?: string;
}

export interface ShardsAnswer {
  readonly stream: string;
  readonly shards: readonly ShardInfo[];
}

/** 2^128: the size of the Kinesis hash key space (MD5 of the partition key). */
const KEY_SPACE = 1n << 128n;

/** Where a hash key falls in the key space, in percent with two decimals (the end of a range counts inclusive). */
function percentOf(key: string, inclusive: boolean): number {
  const k = BigInt(key) + (inclusive ? 1n : 0n);
  return Number((k * 10_000n) / KEY_SPACE) / 100;
}

/** A shard's hash key range as a share of the key space: `0% to 50%` and the share it takes, `50%`. */
export function hashRangeShare(range: ShardInfo['hashKeyRange']): { readonly from: number; readonly to: number; readonly share: number } {
  const from = percentOf(range.startingHashKey, false);
  const to = percentOf(range.endingHashKey, true);
  return { from, to, share: Math.round((to - from) * 100) / 100 };
}

/** Records in per shard of `stream` (`tollstream_records_in_total`), keyed by shard id. */
export function recordsInByShard(families: Map<string, MetricFamily>, stream: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samplesOf(families, 'tollstream_records_in_total', { stream })) out.set(s.labels.shard ?? '', (out.get(s.labels.shard ?? '') ?? 0) + s.value);
  return out;
}
