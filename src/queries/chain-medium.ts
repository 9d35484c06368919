/**
 * Where a query's checkpoint chain (checkpoint-chain.ts) is kept: named blobs, each written and renamed
 * atomically. The chain decides what to write; a medium only stores it. Two media: files in the query's folder
 * (one node, the default) and rows of a PostgreSQL table (a cluster, postgres-store.ts), whose writes are fenced
 * by the query's lease.
 */
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../core/durable-files.ts';

export interface ChainMedium {
  /** Names a blob in messages: a file's path, or the table row's place. */
  where(name: string): string;
  /** The blob's bytes, or undefined when there is none of that name. */
  read(name: string): Promise<Buffer | undefined>;
  /** Stores `bytes` under `name`, replacing what was there, atomically and durably. */
  write(name: string, bytes: Buffer): Promise<void>;
  /** Renames `from` to `to` (replacing `to`) atomically; nothing when `from` does not exist. */
  rename(from: string, to: string): Promise<void>;
  /** The names of the blobs there are. */
  list(): Promise<string[]>;
  /** Removes these blobs (names that do not exist are ignored). */
  remove(names: readonly string[]): Promise<void>;
}

/** The query's folder: each blob a file, replaced through a temporary file, fsynced with the folder. */
export function folderMedium(folder: string): ChainMedium {
  const file = (name: string) => path.join(folder, name);
  return {
    where: file,
    async read(name) {
      try {
        return await readFile(file(name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    write: (name, bytes) => writeFileAtomic(file(name), bytes),
    async rename(from, to) {
      await rename(file(from), file(to)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
    async list() {
      try {
        return await readdir(folder);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
    async remove(names) {
      if (names.length === 0) return;
      for (const name of names) await rm(file(name), { force: true });
      await fsyncDir(folder).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}
