/** Shard selection for callers that route on their own (e.g. to group records by shard before appending). */
import { hashKeyOf, parseExplicitHashKey } from './hashkey.ts';
import type { ShardDescription } from './types.ts';

/**
 * The open shard (no `endingSequenceNumber`) of `shards` that owns a record's hash key: its explicit
 * hash key if given, else the MD5 of its partition key. Undefined only if the open shards leave a gap.
 */
export function shardForHashKey(
  shards: readonly ShardDescription[],
  record: { readonly partitionKey: string; readonly explicitHashKey?: string },
): ShardDescription | undefined {
  const key = record.explicitHashKey !== undefined ? parseExplicitHashKey(record.explicitHashKey) : hashKeyOf(record.partitionKey);
  return shards.find(
    (s) => s.endingSequenceNumber === undefined && BigInt(s.hashKeyRange.startingHashKey) <= key && key <= BigInt(s.hashKeyRange.endingHashKey),
  );
}
