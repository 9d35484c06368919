/**
 * What a reshard does to a stream's shards, decided the same way by both backends from their metadata: which
 * open shards close and which children take over their hash ranges. A uniform reshard (`updateShardCount`)
 * closes every open shard; a split closes one, a merge two adjacent ones (Kinesis' SplitShard and
 * MergeShards). The backends then apply the plan with their own close protocol.
 */
import { TollstreamError } from '../core/errors.ts';
import { MAX_HASH_KEY, rangesOverlap, splitHashKeyRange } from './hashkey.ts';
import type { HashKeyRange } from './types.ts';
import { MAX_SHARDS } from './validate.ts';

/** A shard as the planning needs it. */
export interface PlannedShard {
  readonly shardId: string;
  readonly hashKeyRange: HashKeyRange;
  readonly open: boolean;
}

export interface ReshardPlan {
  /** The open shards that close. */
  readonly parents: readonly string[];
  /** The new shards, in hash key order; each child's parents are the closing shards it took over from. */
  readonly children: ReadonlyArray<{ readonly hashKeyRange: HashKeyRange; readonly parentShardIds: readonly string[] }>;
}

/** `updateShardCount`: undefined when the stream already has `target` open shards. */
export function planUniform(stream: string, shards: readonly PlannedShard[], target: number): ReshardPlan | undefined {
  const parents = shards.filter((s) => s.open);
  const current = parents.length;
  if (target > current * 2 || target * 2 < current) {
    throw new TollstreamError(
      'LIMIT_EXCEEDED',
      `a stream with ${current} open shards can scale to between ${Math.ceil(current / 2)} and ${Math.min(current * 2, MAX_SHARDS)} shards in one step, not ${target}`,
      { context: { stream } },
    );
  }
  if (target === current) return undefined;
  return {
    parents: parents.map((p) => p.shardId),
    children: splitHashKeyRange(target).map((hashKeyRange) => ({
      hashKeyRange,
      parentShardIds: parents.filter((p) => rangesOverlap(p.hashKeyRange, hashKeyRange)).map((p) => p.shardId),
    })),
  };
}

function openShard(stream: string, shards: readonly PlannedShard[], shardId: string, operation: string): PlannedShard {
  const shard = shards.find((s) => s.shardId === shardId);
  if (!shard) {
    throw new TollstreamError('SHARD_NOT_FOUND', `stream '${stream}' has no shard '${String(shardId).slice(0, 64)}'; describe the stream for its shards`, {
      context: { stream, shardId },
    });
  }
  if (!shard.open) {
    throw new TollstreamError('SHARD_CLOSED', `shard ${shardId} of stream '${stream}' was already split or merged, so it cannot be ${operation}; use its children`, {
      context: { stream, shardId },
    });
  }
  return shard;
}

const DECIMAL = /^\d{1,39}$/;

/**
 * `splitShard`: the shard's range `[start, end]` becomes `[start, key - 1]` and `[key, end]`, so the key must
 * lie in `start < key <= end`.
 */
export function planSplit(stream: string, shards: readonly PlannedShard[], shardId: string, newStartingHashKey: string): ReshardPlan {
  if (typeof newStartingHashKey !== 'string' || !DECIMAL.test(newStartingHashKey) || BigInt(newStartingHashKey) > MAX_HASH_KEY) {
    throw new TollstreamError('INVALID_ARGUMENT', `the new starting hash key must be a decimal integer from 0 to 2^128-1, got '${String(newStartingHashKey).slice(0, 64)}'`, {
      context: { stream, shardId },
    });
  }
  const shard = openShard(stream, shards, shardId, 'split');
  const key = BigInt(newStartingHashKey);
  const start = BigInt(shard.hashKeyRange.startingHashKey);
  const end = BigInt(shard.hashKeyRange.endingHashKey);
  if (key <= start || key > end) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `the new starting hash key ${newStartingHashKey} must be greater than ${start} and at most ${end}, the hash key range of shard ${shardId}, so that both halves hold keys`,
      { context: { stream, shardId } },
    );
  }
  const open = shards.filter((s) => s.open).length;
  if (open + 1 > MAX_SHARDS) {
    throw new TollstreamError('LIMIT_EXCEEDED', `stream '${stream}' has ${open} open shards, the most it can have (${MAX_SHARDS}); merge shards first`, { context: { stream, limit: MAX_SHARDS } });
  }
  return {
    parents: [shardId],
    children: [
      { hashKeyRange: { startingHashKey: start.toString(), endingHashKey: (key - 1n).toString() }, parentShardIds: [shardId] },
      { hashKeyRange: { startingHashKey: key.toString(), endingHashKey: end.toString() }, parentShardIds: [shardId] },
    ],
  };
}

/**
 * `mergeShards`: two open shards whose ranges touch (one's ending hash key + 1 is the other's starting hash
 * key) become one child covering both; its parents are `[shardId, adjacentShardId]` in that order, as
 * Kinesis names them ParentShardId and AdjacentParentShardId.
 */
export function planMerge(stream: string, shards: readonly PlannedShard[], shardId: string, adjacentShardId: string): ReshardPlan {
  if (shardId === adjacentShardId) {
    throw new TollstreamError('INVALID_ARGUMENT', `a shard cannot be merged with itself (${String(shardId).slice(0, 64)}); name two adjacent shards`, { context: { stream, shardId } });
  }
  const a = openShard(stream, shards, shardId, 'merged');
  const b = openShard(stream, shards, adjacentShardId, 'merged');
  const [low, high] = BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? [a, b] : [b, a];
  if (BigInt(low.hashKeyRange.endingHashKey) + 1n !== BigInt(high.hashKeyRange.startingHashKey)) {
    throw new TollstreamError(
      'INVALID_ARGUMENT',
      `shards ${shardId} and ${adjacentShardId} of stream '${stream}' are not adjacent: ${low.shardId} ends at ${low.hashKeyRange.endingHashKey} and ${high.shardId} starts at ${high.hashKeyRange.startingHashKey}`,
      { context: { stream, shardId, adjacentShardId } },
    );
  }
  return {
    parents: [shardId, adjacentShardId],
    children: [{ hashKeyRange: { startingHashKey: low.hashKeyRange.startingHashKey, endingHashKey: high.hashKeyRange.endingHashKey }, parentShardIds: [shardId, adjacentShardId] }],
  };
}
