/**
 * The 128-bit hash key space and how it is split among shards, as Kinesis does it: a record's hash key is
 * the MD5 of its partition key's UTF-8 bytes read as a big-endian unsigned integer (or its explicit hash
 * key), and each shard owns a contiguous inclusive range of the space.
 */
import { createHash } from 'node:crypto';
import { TollstreamError } from '../core/errors.ts';
import type { HashKeyRange } from './types.ts';

export const MAX_HASH_KEY = (1n << 128n) - 1n;

/** Partition keys repeat a lot (a plate, a lane, a device), and MD5 costs about a microsecond. */
const CACHE_LIMIT = 65_536;
let cache = new Map<string, bigint>();

/** The hash key of a partition key: MD5 of its UTF-8 bytes as a 128-bit big-endian integer. */
export function hashKeyOf(partitionKey: string): bigint {
  let key = cache.get(partitionKey);
  if (key === undefined) {
    const digest = createHash('md5').update(partitionKey, 'utf8').digest();
    key = (digest.readBigUInt64BE(0) << 64n) | digest.readBigUInt64BE(8);
    // Dropping the whole cache when full is crude but bounded, cheap, and keeps the common path a single get.
    if (cache.size >= CACHE_LIMIT) cache = new Map();
    cache.set(partitionKey, key);
  }
  return key;
}

const DECIMAL = /^\d{1,39}$/;

/** Parses an explicit hash key (a decimal 128-bit integer); `INVALID_ARGUMENT` when it is not one. */
export function parseExplicitHashKey(text: string): bigint {
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    throw new TollstreamError('INVALID_ARGUMENT', `explicitHashKey must be a decimal integer from 0 to 2^128-1, got '${String(text).slice(0, 64)}'`, {
      context: { explicitHashKey: text },
    });
  }
  const key = BigInt(text);
  if (key > MAX_HASH_KEY) {
    throw new TollstreamError('INVALID_ARGUMENT', `explicitHashKey ${text} is above 2^128-1`, { context: { explicitHashKey: text } });
  }
  return key;
}

/**
 * Splits `[start, end]` into `count` contiguous ranges of equal size (the last takes the remainder), as
 * Kinesis does for a new stream or a uniform reshard.
 */
export function splitHashKeyRange(count: number, start = 0n, end = MAX_HASH_KEY): HashKeyRange[] {
  const size = (end - start + 1n) / BigInt(count);
  const ranges: HashKeyRange[] = [];
  for (let i = 0; i < count; i++) {
    const lo = start + size * BigInt(i);
    const hi = i === count - 1 ? end : lo + size - 1n;
    ranges.push({ startingHashKey: lo.toString(), endingHashKey: hi.toString() });
  }
  return ranges;
}

/**
 * Index of the range holding `hashKey`, given the ranges' starting keys in ascending order (the ranges
 * must cover the space without gaps, as open shards do).
 */
export function rangeIndexOf(startingKeys: readonly bigint[], hashKey: bigint): number {
  let lo = 0;
  let hi = startingKeys.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (startingKeys[mid]! <= hashKey) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function rangesOverlap(a: HashKeyRange, b: HashKeyRange): boolean {
  return BigInt(a.startingHashKey) <= BigInt(b.endingHashKey) && BigInt(b.startingHashKey) <= BigInt(a.endingHashKey);
}

export function formatShardId(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

const SHARD_ID = /^shardId-(\d{12})$/;

/** The index of a shard id, or undefined when the text is not one. */
export function parseShardId(shardId: string): number | undefined {
  const m = SHARD_ID.exec(shardId);
  return m ? Number(m[1]) : undefined;
}
