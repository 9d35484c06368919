import { describe, expect, it } from 'vitest';
import { isTollstreamError } from '../core/errors.ts';
import { formatShardId, splitHashKeyRange } from './hashkey.ts';
import { planSplit } from './reshard.ts';
import type { PlannedShard } from './reshard.ts';
import { MAX_SHARDS } from './validate.ts';

const shards = (n: number): PlannedShard[] => splitHashKeyRange(n).map((hashKeyRange, i) => ({ shardId: formatShardId(i), hashKeyRange, open: true }));
const middle = (s: PlannedShard) => ((BigInt(s.hashKeyRange.startingHashKey) + BigInt(s.hashKeyRange.endingHashKey)) / 2n).toString();

describe('planSplit', () => {
  it('refuses a split past the open shard limit; closed shards do not count', () => {
    const full = shards(MAX_SHARDS);
    let caught: unknown;
    try {
      planSplit('s', full, full[0]!.shardId, middle(full[0]!));
    } catch (err) {
      caught = err;
    }
    expect(isTollstreamError(caught, 'LIMIT_EXCEEDED')).toBe(true);

    const oneClosed = full.map((s, i) => (i === 5 ? { ...s, open: false } : s));
    const plan = planSplit('s', oneClosed, full[0]!.shardId, middle(full[0]!));
    expect(plan.parents).toEqual([full[0]!.shardId]);
    expect(plan.children).toHaveLength(2);
  });
});
