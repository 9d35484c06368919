/**
 * `stream.json`: what a stream is (shards, lineage, retention, dedupe, tags, mode, consumers), replaced atomically on each change.
 * Segment files hold the records; this file holds everything else that must survive a restart.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../../core/errors.ts';
import type { DedupeConfig, HashKeyRange, StreamConsumer, StreamMode, StreamTags } from '../types.ts';
import { writeFileAtomic } from './files.ts';

export interface ShardMeta {
  readonly shardId: string;
  readonly index: number;
  readonly hashKeyRange: HashKeyRange;
  readonly parentShardIds: readonly string[];
  /** Set once a reshard closed the shard: the offset after its last record. */
  readonly endOffset?: number;
}

export interface StreamMeta {
  readonly version: 1;
  readonly name: string;
  readonly createdAt: number;
  readonly retentionHours: number;
  readonly retentionBytes?: number;
  readonly dedupe?: DedupeConfig;
  /** Absent when the stream has none (and in files written before tags existed). */
  readonly tags?: StreamTags;
  /** Absent for a provisioned stream (and in files written before modes existed). */
  readonly mode?: StreamMode;
  /** Absent when the stream has none (and in files written before consumers existed). */
  readonly consumers?: readonly StreamConsumer[];
  /** Index of the next shard a reshard creates. */
  readonly nextShardIndex: number;
  /** Oldest first; children always come after their parents. */
  readonly shards: readonly ShardMeta[];
}

export const META_FILE = 'stream.json';

export async function writeStreamMeta(dir: string, meta: StreamMeta): Promise<void> {
  await writeFileAtomic(path.join(dir, META_FILE), JSON.stringify(meta, null, 2) + '\n');
}

/** Reads a stream's metadata; undefined when the file does not exist (a create that did not finish). */
export async function readStreamMeta(dir: string): Promise<StreamMeta | undefined> {
  const file = path.join(dir, META_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TollstreamError('IO_ERROR', `reading ${file} failed: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  let meta: StreamMeta;
  try {
    meta = JSON.parse(text) as StreamMeta;
  } catch (err) {
    throw new TollstreamError('LOG_CORRUPT', `stream metadata ${file} is not valid JSON; restore it from a backup`, { context: { file }, cause: err });
  }
  if (meta.version !== 1 || typeof meta.name !== 'string' || !Array.isArray(meta.shards)) {
    throw new TollstreamError('LOG_CORRUPT', `stream metadata ${file} has an unknown layout (version ${String(meta.version)})`, { context: { file } });
  }
  return meta;
}
