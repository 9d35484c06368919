/**
 * Bytes on disk of the parts of a data directory: the stream log (`streams/`, one folder per stream), the
 * DuckDB warehouse (`warehouse.duckdb` and its WAL), the tables database (`tables.db` and its WAL) and the
 * continuous queries' checkpoints (`queries/`).
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CONFIG, warehousePath } from '../../src/config/index.ts';

/** Bytes of a file or of every file under a folder: their sizes, and the blocks the file system allocated. */
export interface Bytes {
  readonly size: number;
  readonly allocated: number;
}

const NONE: Bytes = { size: 0, allocated: 0 };

export async function bytesOf(target: string): Promise<Bytes> {
  let stat;
  try {
    stat = await lstat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return NONE;
    throw err;
  }
  if (!stat.isDirectory()) return { size: stat.size, allocated: stat.blocks * 512 };
  let size = 0;
  let allocated = 0;
  for (const entry of await readdir(target)) {
    const b = await bytesOf(path.join(target, entry));
    size += b.size;
    allocated += b.allocated;
  }
  return { size, allocated };
}

async function sum(files: readonly string[]): Promise<Bytes> {
  let size = 0;
  let allocated = 0;
  for (const f of files) {
    const b = await bytesOf(f);
    size += b.size;
    allocated += b.allocated;
  }
  return { size, allocated };
}

export interface DiskUsage {
  /** `streams/`: every stream's segments and indexes. */
  readonly log: Bytes;
  /** Per stream folder under `streams/`. */
  readonly streams: Readonly<Record<string, Bytes>>;
  readonly warehouse: Bytes;
  readonly tables: Bytes;
  readonly queries: Bytes;
}

export async function diskUsage(dataDir: string): Promise<DiskUsage> {
  const streamsDir = path.join(dataDir, 'streams');
  // Where `tollstream up` puts the DuckDB file with the default config.
  const warehouse = warehousePath({ ...DEFAULT_CONFIG, dataDir });
  const streams: Record<string, Bytes> = {};
  for (const name of (await readdir(streamsDir).catch(() => [] as string[])).sort()) streams[name] = await bytesOf(path.join(streamsDir, name));
  return {
    log: await bytesOf(streamsDir),
    streams,
    warehouse: await sum([warehouse, `${warehouse}.wal`]),
    tables: await sum(['tables.db', 'tables.db-wal', 'tables.db-shm'].map((f) => path.join(dataDir, f))),
    queries: await bytesOf(path.join(dataDir, 'queries')),
  };
}
