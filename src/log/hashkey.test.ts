import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashRouter, hashKeyOf, MAX_HASH_KEY, parseExplicitHashKey, rangeIndexOf, splitHashKeyRange } from './hashkey.ts';
import { shardForHashKey } from './routing.ts';
import type { ShardDescription } from './types.ts';

describe('hash keys', () => {
  it('is the MD5 of the UTF-8 partition key as a big-endian 128-bit integer', () => {
    // md5("a") = 0cc175b9c0f1b6a831c399e269772661
    expect(hashKeyOf('a')).toBe(0x0cc175b9c0f1b6a831c399e269772661n);
    const key = 'Zürich-🚗';
    expect(hashKeyOf(key)).toBe(BigInt('0x' + createHash('md5').update(Buffer.from(key, 'utf8')).digest('hex')));
    expect(hashKeyOf(key)).toBe(hashKeyOf(key));
  });

  it('splits the space uniformly as Kinesis does', () => {
    const two = splitHashKeyRange(2);
    expect(two).toEqual([
      { startingHashKey: '0', endingHashKey: '170141183460469231731687303715884105727' },
      { startingHashKey: '170141183460469231731687303715884105728', endingHashKey: '340282366920938463463374607431768211455' },
    ]);
    const three = splitHashKeyRange(3);
    expect(BigInt(three[2]!.endingHashKey)).toBe(MAX_HASH_KEY);
    expect(BigInt(three[1]!.startingHashKey)).toBe((MAX_HASH_KEY + 1n) / 3n);
  });

  it('finds the range of a key at and around the boundaries', () => {
    const ranges = splitHashKeyRange(4);
    const starts = ranges.map((r) => BigInt(r.startingHashKey));
    expect(rangeIndexOf(starts, 0n)).toBe(0);
    expect(rangeIndexOf(starts, starts[1]! - 1n)).toBe(0);
    expect(rangeIndexOf(starts, starts[1]!)).toBe(1);
    expect(rangeIndexOf(starts, MAX_HASH_KEY)).toBe(3);
    const shards: ShardDescription[] = ranges.map((hashKeyRange, i) => ({ shardId: `s${i}`, hashKeyRange, parentShardIds: [], startingSequenceNumber: '0' }));
    expect(shardForHashKey(shards, { partitionKey: 'x', explicitHashKey: starts[2]!.toString() })?.shardId).toBe('s2');
    expect(shardForHashKey(shards, { partitionKey: 'a' })?.shardId).toBe('s0');
  });

  it('routes partition keys exactly like the full 128-bit comparison', () => {
    for (const count of [2, 3, 5, 7, 16, 1000]) {
      const starts = splitHashKeyRange(count).map((r) => BigInt(r.startingHashKey));
      const router = new HashRouter(starts);
      for (let i = 0; i < 500; i++) {
        const key = `plate-${i}-${count}`;
        expect(router.indexOfKey(key)).toBe(rangeIndexOf(starts, hashKeyOf(key)));
      }
    }
    // Boundaries that share the key's top 48 bits need the full comparison.
    const h = hashKeyOf('a');
    expect(new HashRouter([0n, h]).indexOfKey('a')).toBe(1);
    expect(new HashRouter([0n, h + 1n]).indexOfKey('a')).toBe(0);
    expect(new HashRouter([0n, (h >> 80n) << 80n]).indexOfKey('a')).toBe(1);
    expect(new HashRouter([0n]).indexOfKey('a')).toBe(0);
  });

  it('routes a repeated key the same way the second time, also after its cache filled and was dropped', () => {
    const starts = splitHashKeyRange(4).map((r) => BigInt(r.startingHashKey));
    const router = new HashRouter(starts);
    const keys = Array.from({ length: 70_000 }, (_, i) => `customer-${i}`);
    const first = keys.map((k) => router.indexOfKey(k));
    // More keys than the cache holds: the first ones were dropped and are computed again.
    for (let i = 0; i < keys.length; i += 997) expect(router.indexOfKey(keys[i]!)).toBe(first[i]);
    for (let i = 0; i < keys.length; i += 997) expect(first[i]).toBe(rangeIndexOf(starts, hashKeyOf(keys[i]!)));
  });

  it('hashes keys longer than the fast path the same way', () => {
    const key = 'k'.repeat(1500);
    expect(hashKeyOf(key)).toBe(BigInt('0x' + createHash('md5').update(key).digest('hex')));
  });

  it('accepts explicit hash keys from 0 to 2^128-1 only', () => {
    expect(parseExplicitHashKey('0')).toBe(0n);
    expect(parseExplicitHashKey(MAX_HASH_KEY.toString())).toBe(MAX_HASH_KEY);
    for (const bad of ['', '-1', '1.5', 'abc', (MAX_HASH_KEY + 1n).toString(), '1'.repeat(40)]) {
      expect(() => parseExplicitHashKey(bad), bad).toThrow(/explicitHashKey/);
    }
  });
});
