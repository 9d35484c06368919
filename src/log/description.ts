/** A stream's description as both backends build it from their metadata. */
import type { DedupeConfig, ShardDescription, StreamDescription, StreamStatus, StreamTags } from './types.ts';

export interface DescribedMeta {
  readonly name: string;
  readonly createdAt: number;
  readonly retentionHours: number;
  readonly retentionBytes?: number;
  readonly dedupe?: DedupeConfig;
  readonly tags?: StreamTags;
}

export function streamDescription(meta: DescribedMeta, status: StreamStatus, shards: ShardDescription[], openShardCount: number): StreamDescription {
  return {
    name: meta.name,
    status,
    createdAt: meta.createdAt,
    retentionHours: meta.retentionHours,
    ...(meta.retentionBytes !== undefined ? { retentionBytes: meta.retentionBytes } : {}),
    ...(meta.dedupe ? { dedupe: meta.dedupe } : {}),
    ...(meta.tags && Object.keys(meta.tags).length > 0 ? { tags: { ...meta.tags } } : {}),
    shards,
    openShardCount,
  };
}
