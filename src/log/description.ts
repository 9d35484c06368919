/** A stream's description as both backends build it from their metadata. */
import type { DedupeConfig, ShardDescription, StreamConsumer, StreamDescription, StreamMode, StreamStatus, StreamTags } from './types.ts';

/** The settings of a stream that both backends keep in their metadata, each beside its own shard layout. */
export interface DescribedMeta {
  readonly name: string;
  readonly createdAt: number;
  readonly retentionHours: number;
  readonly retentionBytes?: number;
  readonly dedupe?: DedupeConfig;
  /** Absent when the stream has none (and in metadata written before tags existed). */
  readonly tags?: StreamTags;
  /** Absent for a provisioned stream (and in metadata written before modes existed). */
  readonly mode?: StreamMode;
  /** Enhanced fan-out consumers, oldest first; absent when there are none. */
  readonly consumers?: readonly StreamConsumer[];
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
    mode: meta.mode ?? 'provisioned',
    ...(meta.consumers && meta.consumers.length > 0 ? { consumers: meta.consumers.map((c) => ({ ...c })) } : {}),
    shards,
    openShardCount,
  };
}
