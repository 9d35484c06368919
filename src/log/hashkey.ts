/**
 * The 128-bit hash key space and how it is split among shards, as Kinesis does it: a record's hash key is
 * the MD5 of its partition key's UTF-8 bytes read as a big-endian unsigned integer (or its explicit hash
 * key), and each shard owns a contiguous inclusive range of the space.
 */
import { createHash } from 'node:crypto';
import { TollstreamError } from '../core/errors.ts';
import { md5Words } from './md5.ts';
import type { HashKeyRange } from './types.ts';

export const MAX_HASH_KEY = (1n << 128n) - 1n;

/** Keeps BigInt construction off the path for keys seen before; bounded. */
const CACHE_LIMIT = 65_536;
let cache = new Map<string, bigint>();
const digest = new Uint32Array(4);
/** Longer text than this (UTF-16 units) is hashed by node:crypto; the JS MD5's buffer is sized for keys. */
const JS_MD5_MAX_CHARS = 1000;

function md5Into(partitionKey: string, out: Uint32Array): void {
  if (partitionKey.length <= JS_MD5_MAX_CHARS) return md5Words(partitionKey, out);
  const d = createHash('md5').update(partitionKey, 'utf8').digest();
  for (let i = 0; i < 4; i++) out[i] = d.readUInt32BE(i * 4);
}

function wordsToBigInt(w: Uint32Array): bigint {
  return (BigInt(w[0]!) << 96n) | (BigInt(w[1]!) << 64n) | (BigInt(w[2]!) << 32n) | BigInt(w[3]!);
}

/** The hash key of a partition key: MD5 of its UTF-8 bytes as a 128-bit big-endian integer. */
export function hashKeyOf(partitionKey: string): bigint {
  let key = cache.get(partitionKey);
  if (key === undefined) {
    md5Into(partitionKey, digest);
    key = wordsToBigInt(digest);
    // Dropping the whole cache when full is crude but bounded, cheap, and keeps the common path a single get.
    if (cache.size >= CACHE_LIMIT) cache = new Map();
    cache.set(partitionKey, key);
  }
  return key;
}

/**
 * Picks the shard of a record among contiguous ranges. Comparing the top 48 bits of the hash (a plain
 * number) decides all but a 2^-48 sliver of keys without building a BigInt; that sliver, and explicit hash
 * keys, take the exact BigInt comparison.
 */
export class HashRouter {
  private readonly starts: readonly bigint[];
  private readonly tops: Float64Array;

  /** `startingKeys`: the ranges' first keys, ascending, the first being 0. */
  constructor(startingKeys: readonly bigint[]) {
    this.starts = startingKeys;
    this.tops = Float64Array.from(startingKeys, (k) => Number(k >> 80n));
  }

  get size(): number {
    return this.starts.length;
  }

  /**
   * Partition keys repeat (a customer, a vehicle): their range indexes are kept, bounded like `hashKeyOf`'s
   * cache, so a repeat costs one map lookup instead of an MD5. A router is rebuilt when shards change, and its
   * cache with it.
   */
  private seen = new Map<string, number>();

  /** Index of the range owning the MD5 of `partitionKey`. */
  indexOfKey(partitionKey: string): number {
    if (this.starts.length === 1) return 0;
    let index = this.seen.get(partitionKey);
    if (index === undefined) {
      index = this.computeIndexOfKey(partitionKey);
      if (this.seen.size >= CACHE_LIMIT) this.seen = new Map();
      this.seen.set(partitionKey, index);
    }
    return index;
  }

  private computeIndexOfKey(partitionKey: string): number {
    md5Into(partitionKey, digest);
    const top = digest[0]! * 65_536 + (digest[1]! >>> 16);
    const tops = this.tops;
    let lo = 0;
    let hi = tops.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tops[mid]! <= top) lo = mid;
      else hi = mid - 1;
    }
    if (tops[lo] === top && lo > 0) return rangeIndexOf(this.starts, wordsToBigInt(digest));
    return lo;
  }

  /** Index of the range owning `hashKey`. */
  indexOfHash(hashKey: bigint): number {
    return rangeIndexOf(this.starts, hashKey);
  }
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
