/**
 * `stream.json`: what a stream is (shards, lineage, retention, dedupe, tags, mode, consumers), replaced atomically on each change,
 * as a state file (checksummed, see src/core/state-file.ts) with a second copy beside it. Segment files hold
 * the records; these files hold everything else that must survive a restart.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TollstreamError } from '../../core/errors.ts';
import { decodeStateFile, writeStateFile } from '../../core/state-file.ts';
import type { StateFormat } from '../../core/state-file.ts';
import type { DescribedMeta } from '../description.ts';
import type { HashKeyRange } from '../types.ts';

export interface ShardMeta {
  readonly shardId: string;
  readonly index: number;
  readonly hashKeyRange: HashKeyRange;
  readonly parentShardIds: readonly string[];
  /** Set once a reshard closed the shard: the offset after its last record. */
  readonly endOffset?: number;
}

export interface StreamMeta extends DescribedMeta {
  readonly version: 1;
  /** Index of the next shard a reshard creates. */
  readonly nextShardIndex: number;
  /** Oldest first; children always come after their parents. */
  readonly shards: readonly ShardMeta[];
}

export const META_FILE = 'stream.json';
/**
 * A second copy of `stream.json`, written right after it: the lineage and settings of a stream exist nowhere
 * else, so losing the one file must not lose them (nor, by a wrong guess at them, the records).
 */
export const META_COPY_FILE = 'stream.copy.json';

const META_FORMAT: StateFormat = {
  kind: 'stream-metadata',
  version: 1,
  // Written before state files had a header: plain JSON.
  legacy: (bytes) => bytes[0] === 0x7b,
};

export async function writeStreamMeta(dir: string, meta: StreamMeta): Promise<void> {
  const body = JSON.stringify(meta, null, 2) + '\n';
  await writeStateFile(path.join(dir, META_FILE), META_FORMAT, body);
  await writeStateFile(path.join(dir, META_COPY_FILE), META_FORMAT, body);
}

type OneRead = { readonly meta: StreamMeta; readonly legacy: boolean } | { readonly missing: true } | { readonly damaged: string };

async function readOne(file: string): Promise<OneRead> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    throw new TollstreamError('IO_ERROR', `reading ${file} failed: ${(err as Error).message}`, { context: { file }, cause: err });
  }
  const read = decodeStateFile(META_FORMAT, bytes);
  if (!read.ok) return { damaged: read.detail };
  let meta: StreamMeta;
  try {
    meta = JSON.parse(read.body.toString('utf8')) as StreamMeta;
  } catch {
    return { damaged: 'it is not valid JSON' };
  }
  if (typeof meta !== 'object' || meta === null || meta.version !== 1 || typeof meta.name !== 'string' || !Array.isArray(meta.shards)) {
    return { damaged: `it has an unknown layout (version ${String((meta as { version?: unknown } | null)?.version)})` };
  }
  return { meta, legacy: read.legacy };
}

export interface MetaFound {
  readonly meta: StreamMeta;
  /** Why the files must be written again (a copy missing or damaged, the layout before checksums); undefined if not. */
  readonly rewrite: string | undefined;
}

/**
 * Reads a stream's metadata from `stream.json`, or from its copy when that one is missing or damaged.
 * Undefined when neither exists (the caller decides whether the directory is an unfinished create);
 * `LOG_CORRUPT` naming both files when neither can be read.
 */
export async function readStreamMeta(dir: string): Promise<MetaFound | undefined> {
  const file = path.join(dir, META_FILE);
  const copyFile = path.join(dir, META_COPY_FILE);
  const primary = await readOne(file);
  const copy = await readOne(copyFile);
  const describe = (r: OneRead): string => ('missing' in r ? 'is missing' : 'damaged' in r ? `is damaged: ${r.damaged}` : 'was written before checksums');
  if ('meta' in primary) {
    const rewrite = primary.legacy
      ? `${META_FILE} was written before checksums`
      : !('meta' in copy)
        ? `${META_COPY_FILE} ${describe(copy)}`
        : JSON.stringify(copy.meta) !== JSON.stringify(primary.meta)
          ? `${META_COPY_FILE} is behind ${META_FILE} (a stop between the two writes)`
          : undefined;
    return { meta: primary.meta, rewrite };
  }
  if ('meta' in copy) return { meta: copy.meta, rewrite: `${META_FILE} ${describe(primary)}` };
  if ('missing' in primary && 'missing' in copy) return undefined;
  throw new TollstreamError(
    'LOG_CORRUPT',
    `stream metadata in ${dir} cannot be read: ${META_FILE} ${describe(primary)}, ${META_COPY_FILE} ${describe(copy)}; restore either file from a backup`,
    { context: { file, copy: copyFile } },
  );
}
