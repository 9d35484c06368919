/**
 * Where queries live on disk: one folder per query with its definition (JSON) and its last checkpoint
 * (structured-clone bytes, since operator states may hold Maps and infinities). Both are replaced
 * atomically: write a temporary file, fsync it, rename it over, fsync the folder. A checkpoint is therefore
 * either the old one or the new one, whole, after any crash.
 *
 * <dir>/<query>/definition.json
 * <dir>/<query>/checkpoint.bin
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { fsyncDir, writeFileAtomic } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import type { Checkpoint, QueryDefinition } from './types.ts';

function ioError(what: string, err: unknown, context: Record<string, unknown>): TollstreamError {
  return new TollstreamError('IO_ERROR', `${what}: ${err instanceof Error ? err.message : String(err)}; check the disk and the folder's permissions`, { cause: err, context });
}

export class QueryStore {
  constructor(readonly dir: string) {}

  private folder(name: string): string {
    return path.join(this.dir, name);
  }

  async listDefinitions(): Promise<QueryDefinition[]> {
    await mkdir(this.dir, { recursive: true });
    const out: QueryDefinition[] = [];
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const file = path.join(this.dir, entry.name, 'definition.json');
      try {
        out.push(JSON.parse(await readFile(file, 'utf8')) as QueryDefinition);
      } catch (err) {
        // A folder without a definition is a create that did not finish.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw ioError(`cannot read the query definition ${file}`, err, { file });
      }
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  }

  async saveDefinition(def: QueryDefinition): Promise<void> {
    const folder = this.folder(def.name);
    try {
      await mkdir(folder, { recursive: true });
      await writeFileAtomic(path.join(folder, 'definition.json'), JSON.stringify(def, null, 2) + '\n');
    } catch (err) {
      throw ioError(`cannot write the definition of query ${def.name}`, err, { query: def.name, folder });
    }
  }

  async loadCheckpoint(name: string): Promise<Checkpoint | null> {
    const file = path.join(this.folder(name), 'checkpoint.bin');
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(`cannot read the checkpoint of query ${name}`, err, { query: name, file });
    }
    return deserialize(bytes) as Checkpoint;
  }

  async saveCheckpoint(name: string, checkpoint: Checkpoint): Promise<number> {
    const file = path.join(this.folder(name), 'checkpoint.bin');
    const bytes = serialize(checkpoint);
    try {
      await writeFileAtomic(file, bytes);
    } catch (err) {
      throw ioError(`cannot write the checkpoint of query ${name}`, err, { query: name, file });
    }
    return bytes.length;
  }

  async remove(name: string): Promise<void> {
    await rm(this.folder(name), { recursive: true, force: true });
    await fsyncDir(this.dir).catch(() => {});
  }
}
