/**
 * Where queries live on disk: one folder per query with its definition (JSON) and its last two checkpoints
 * (structured-clone bytes, since operator states may hold Maps and infinities). Each is a state file
 * (src/core/state-file.ts: kind, layout version and CRC32C in a header line), so a damaged one is refused,
 * never read as a state. Files are replaced atomically: write a temporary file, fsync it, rename it over,
 * fsync the folder.
 *
 * <dir>/<query>/definition.json
 * <dir>/<query>/checkpoint.bin        the newest checkpoint
 * <dir>/<query>/checkpoint.prev.bin   the one before it, used when the newest is damaged or missing
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { fsyncDir } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import type { Logger } from '../core/logger.ts';
import { decodeStateFile, writeStateFile } from '../core/state-file.ts';
import type { StateFormat } from '../core/state-file.ts';
import type { Checkpoint, QueryDefinition } from './types.ts';

const DEFINITION_FORMAT: StateFormat = { kind: 'query-definition', version: 1, legacy: (b) => b[0] === 0x7b };
/** Legacy checkpoints are bare `v8.serialize` output, which starts with its version tag 0xFF. */
const CHECKPOINT_FORMAT: StateFormat = { kind: 'query-checkpoint', version: 1, legacy: (b) => b[0] === 0xff };
const CHECKPOINT = 'checkpoint.bin';
const PREVIOUS_CHECKPOINT = 'checkpoint.prev.bin';

function ioError(what: string, err: unknown, context: Record<string, unknown>): TollstreamError {
  return new TollstreamError('IO_ERROR', `${what}: ${err instanceof Error ? err.message : String(err)}; check the disk and the folder's permissions`, { cause: err, context });
}

/** The bytes of `file`, or undefined when it does not exist. */
async function readIfExists(file: string, what: string, context: Record<string, unknown>): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`cannot read ${what}`, err, { ...context, file });
  }
}

type CheckpointRead = { readonly checkpoint: Checkpoint; readonly legacy: boolean } | { readonly damaged: string } | undefined;

function decodeCheckpoint(bytes: Buffer | undefined): CheckpointRead {
  if (bytes === undefined) return undefined;
  const read = decodeStateFile(CHECKPOINT_FORMAT, bytes);
  if (!read.ok) return { damaged: read.detail };
  let checkpoint: Checkpoint;
  try {
    checkpoint = deserialize(read.body) as Checkpoint;
  } catch (err) {
    return { damaged: `it does not deserialize (${(err as Error).message})` };
  }
  if (typeof checkpoint !== 'object' || checkpoint === null || checkpoint.version !== 1 || typeof checkpoint.positions !== 'object') {
    return { damaged: 'it is not a checkpoint of a known layout' };
  }
  return { checkpoint, legacy: read.legacy };
}

export class QueryStore {
  private readonly logger: Logger;
  /** Queries whose newest checkpoint was found damaged: the next save replaces it rather than keeping it as the previous one. */
  private readonly damagedNewest = new Set<string>();

  constructor(
    readonly dir: string,
    logger: Logger = silentLogger,
  ) {
    this.logger = logger;
  }

  private folder(name: string): string {
    return path.join(this.dir, name);
  }

  async listDefinitions(): Promise<QueryDefinition[]> {
    await mkdir(this.dir, { recursive: true });
    const out: QueryDefinition[] = [];
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const file = path.join(this.dir, entry.name, 'definition.json');
      // A folder without a definition is a create that did not finish.
      const bytes = await readIfExists(file, 'a query definition', { query: entry.name });
      if (bytes === undefined) continue;
      const read = decodeStateFile(DEFINITION_FORMAT, bytes);
      let def: QueryDefinition | undefined;
      try {
        if (read.ok) def = JSON.parse(read.body.toString('utf8')) as QueryDefinition;
      } catch {
        def = undefined;
      }
      if (!read.ok || typeof def !== 'object' || def === null || typeof def.name !== 'string' || typeof def.sql !== 'string') {
        const detail = read.ok ? 'it is not a query definition of a known layout' : read.detail;
        throw new TollstreamError('STATE_CORRUPT', `the query definition ${file} is damaged (${detail}); restore it from a backup, or remove the folder ${path.dirname(file)} to drop the query`, {
          context: { query: entry.name, file },
        });
      }
      if (read.legacy) {
        this.logger.info('rewriting a query definition written before checksums', { query: def.name, file });
        await this.saveDefinition(def);
      }
      out.push(def);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  }

  async saveDefinition(def: QueryDefinition): Promise<void> {
    const folder = this.folder(def.name);
    try {
      await mkdir(folder, { recursive: true });
      await writeStateFile(path.join(folder, 'definition.json'), DEFINITION_FORMAT, JSON.stringify(def, null, 2) + '\n');
    } catch (err) {
      throw ioError(`cannot write the definition of query ${def.name}`, err, { query: def.name, folder });
    }
  }

  /**
   * The newest checkpoint that reads back whole: `checkpoint.bin`, else the one before it (the query then
   * replays a little more input; its output stays exactly once, see docs/queries.md). Null when there is none;
   * `STATE_CORRUPT` naming the files when every one there is damaged.
   */
  async loadCheckpoint(name: string): Promise<Checkpoint | null> {
    const file = path.join(this.folder(name), CHECKPOINT);
    const previousFile = path.join(this.folder(name), PREVIOUS_CHECKPOINT);
    const context = { query: name };
    const newest = decodeCheckpoint(await readIfExists(file, `the checkpoint of query ${name}`, context));
    if (newest && 'checkpoint' in newest) {
      if (newest.legacy) {
        this.logger.info('rewriting a checkpoint written before checksums', { query: name, file });
        await this.writeCheckpointFile(name, file, serialize(newest.checkpoint));
      }
      return newest.checkpoint;
    }
    const previous = decodeCheckpoint(await readIfExists(previousFile, `the previous checkpoint of query ${name}`, context));
    if (previous && 'checkpoint' in previous) {
      if (newest) this.damagedNewest.add(name);
      this.logger.warn('the newest checkpoint cannot be used; resuming from the one before it', {
        query: name,
        file,
        reason: newest ? newest.damaged : 'it is missing',
        checkpointId: previous.checkpoint.id,
      });
      return previous.checkpoint;
    }
    if (!newest && !previous) return null;
    const describe = (r: CheckpointRead): string => (r && 'damaged' in r ? `is damaged (${r.damaged})` : 'is missing');
    throw new TollstreamError(
      'STATE_CORRUPT',
      `no checkpoint of query ${name} can be read: ${file} ${describe(newest)}, ${previousFile} ${describe(previous)}; restore one from a backup, or drop and create the query again to start it afresh`,
      { context: { query: name, file, previous: previousFile } },
    );
  }

  /** Stores a checkpoint as the newest; the newest before it becomes the previous one. Returns its bytes. */
  async saveCheckpoint(name: string, checkpoint: Checkpoint): Promise<number> {
    const file = path.join(this.folder(name), CHECKPOINT);
    const body = serialize(checkpoint);
    if (this.damagedNewest.has(name)) {
      // The newest is damaged: overwrite it, keeping the good previous one until this write is durable.
      const bytes = await this.writeCheckpointFile(name, file, body);
      this.damagedNewest.delete(name);
      return bytes;
    }
    try {
      // Between the two steps the previous checkpoint is the newest there is, and loadCheckpoint finds it.
      await rename(file, path.join(this.folder(name), PREVIOUS_CHECKPOINT)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    } catch (err) {
      throw ioError(`cannot keep the previous checkpoint of query ${name}`, err, { query: name, file });
    }
    return this.writeCheckpointFile(name, file, body);
  }

  private async writeCheckpointFile(name: string, file: string, body: Buffer): Promise<number> {
    try {
      await writeStateFile(file, CHECKPOINT_FORMAT, body);
    } catch (err) {
      throw ioError(`cannot write the checkpoint of query ${name}`, err, { query: name, file });
    }
    return body.length;
  }
  async remove(name: string): Promise<void> {
    await rm(this.folder(name), { recursive: true, force: true });
    await fsyncDir(this.dir).catch(() => {});
  }
}
