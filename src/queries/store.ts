/**
 * Where queries live on disk: one folder per query with its definition (JSON) and its checkpoints (a full
 * one and the deltas after it, see checkpoint-chain.ts; structured-clone bytes, since operator states may hold
 * Maps and infinities). Each is a state file (src/core/state-file.ts: kind, layout version and CRC32C in a
 * header line), so a damaged one is refused, never read as a state. Files are replaced atomically: write a
 * temporary file, fsync it, rename it over, fsync the folder. Checkpoints are encoded and written by the
 * checkpoint thread (checkpoint-thread.ts).
 *
 * <dir>/<query>/definition.json
 * <dir>/<query>/checkpoint.bin, checkpoint.prev.bin, delta-<base>-<id>.bin   see checkpoint-chain.ts
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import type { Logger } from '../core/logger.ts';
import { decodeStateFile, writeStateFile } from '../core/state-file.ts';
import type { StateFormat } from '../core/state-file.ts';
import { ioError, readIfExists } from './checkpoint-chain.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';
import type { Checkpoint, QueryDefinition, QueryStateStore } from './types.ts';

export function queryExists(name: string): TollstreamError {
  return new TollstreamError('QUERY_EXISTS', `query "${name}" already exists: drop it first or pick another name`, { context: { query: name } });
}

const DEFINITION_FORMAT: StateFormat = { kind: 'query-definition', version: 1, legacy: (b) => b[0] === 0x7b };

export interface QueryStoreOptions {
  /** Deltas after a full checkpoint before the next full one (1: every checkpoint is full). @default 10 */
  readonly checkpointFullEvery?: number;
}

/** The queries of one node, in its data directory. Has no leases: a fence given to it is ignored. */
export class QueryStore implements QueryStateStore {
  private readonly logger: Logger;
  private readonly writer: CheckpointWriter;

  constructor(
    readonly dir: string,
    logger: Logger = silentLogger,
    options: QueryStoreOptions = {},
  ) {
    this.logger = logger;
    this.writer = new CheckpointWriter({ maxDeltas: Math.max(1, options.checkpointFullEvery ?? 10) - 1 }, logger);
  }

  get description(): string {
    return this.dir;
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

  async saveDefinition(def: QueryDefinition, options: { readonly create?: boolean } = {}): Promise<void> {
    const folder = this.folder(def.name);
    if (options.create && (await readIfExists(path.join(folder, 'definition.json'), 'a query definition', { query: def.name })) !== undefined) {
      throw queryExists(def.name);
    }
    try {
      await mkdir(folder, { recursive: true });
      await writeStateFile(path.join(folder, 'definition.json'), DEFINITION_FORMAT, JSON.stringify(def, null, 2) + '\n');
    } catch (err) {
      throw ioError(`cannot write the definition of query ${def.name}`, err, { query: def.name, folder });
    }
  }

  /**
   * The newest checkpoint that reads back whole: the newest full checkpoint (else the one before it) and its
   * deltas in order up to the first damaged or missing one (the query then replays a little more input; its
   * output stays exactly once, see docs/queries.md). Null when there is none; `STATE_CORRUPT` naming the files
   * when no full checkpoint there reads back. Read on the checkpoint thread, which goes on from it.
   */
  loadCheckpoint(name: string): Promise<Checkpoint | null> {
    return this.writer.open(name, this.folder(name));
  }

  /**
   * Stores a checkpoint (its states as the tasks reported them) as the newest, as a delta or a full one;
   * resolves with the bytes written once durable. Encoded and written on the checkpoint thread.
   */
  saveCheckpoint(name: string, checkpoint: Checkpoint): Promise<number> {
    return this.writer.save(name, this.folder(name), checkpoint);
  }

  /** Ends the checkpoint thread once its writes are done (a later call starts it again). */
  close(): Promise<void> {
    return this.writer.close();
  }

  forget(name: string): Promise<void> {
    return this.writer.forget(name);
  }

  async remove(name: string): Promise<void> {
    await this.writer.forget(name);
    await rm(this.folder(name), { recursive: true, force: true });
    await fsyncDir(this.dir).catch(() => {});
  }
}
