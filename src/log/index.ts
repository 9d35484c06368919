/**
 * The stream log: the one public door. Callers use the `StreamLog` interface; `openEmbeddedLog`
 * gives the embedded on-disk backend, `openJetStreamLog` the NATS JetStream one; `describeStreamLogConformance`
 * is the suite every backend passes.
 */
export type * from './types.ts';
export { openEmbeddedLog } from './embedded/log.ts';
export type { EmbeddedLogOptions, EmbeddedStreamLog } from './embedded/log.ts';
export { hashKeyOf, parseExplicitHashKey, splitHashKeyRange, formatShardId, MAX_HASH_KEY } from './hashkey.ts';
export { compareSequenceNumbers } from './sequence.ts';
export { appendAll } from './append-all.ts';
export { STREAM_NAME, MAX_RETENTION_HOURS, DEFAULT_DEDUPE_WINDOW_SECONDS, checkStreamName, checkShardCount, checkRetentionHours, checkRetentionBytes, checkDedupe } from './validate.ts';
export { ensureStream } from './ensure-stream.ts';
export { shardForHashKey } from './routing.ts';
export { crc32c } from '../core/crc32c.ts';
export { openJetStreamLog } from './jetstream/log.ts';
export type { JetStreamLogOptions, JetStreamStreamLog } from './jetstream/log.ts';
export { isKplAggregate, deaggregate } from './kpl.ts';
export type { Deaggregated } from './kpl.ts';
export { shardBacklog, lagSeconds } from './backlog.ts';
export type { ShardBacklog } from './backlog.ts';
