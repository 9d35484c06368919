/**
 * The DuckDB warehouse's file and what happens when it is damaged. The warehouse is a copy of the log (every
 * table is delivered from a stream, its positions stored with it), so a damaged file can be moved aside and
 * the warehouse rebuilt by delivering the log again; the caller decides whether that is allowed.
 *
 * Damage shows at open (a file cut short: its metadata points past the end) or only when a damaged block is
 * read (a checksum mismatch). The second kind is noted in `<file>.damaged` so the next start rebuilds.
 */
import fs from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { quoteIdentifier } from './dialect.ts';

/** DuckDB's words for a damaged file: a block whose checksum fails, a file shorter than its metadata says, no header. */
const DAMAGE = /Corrupt database file|does not match stored checksum|Could not read enough bytes from file|not a valid DuckDB database file|checksum mismatch/i;

export interface DamagedWarehouse {
  /** The database file that was damaged. */
  readonly path: string;
  /** Where it (and its write-ahead log, if any) went: `<path>.damaged-<time>`. */
  readonly movedTo: readonly string[];
  /** What showed the damage. */
  readonly reason: string;
}

export function isDamage(err: unknown): boolean {
  return DAMAGE.test(err instanceof Error ? err.message : String(err));
}

/**
 * A damaged-storage error naming the file. Outside memory it also leaves the marker `<file>.damaged`, so the
 * next start treats the file as damaged even if that start's checks happen not to read the bad block.
 */
export function damaged(path: string, err: unknown): TollstreamError {
  const text = err instanceof Error ? err.message : String(err);
  if (path !== ':memory:') {
    try {
      fs.writeFileSync(markerPath(path), `${new Date().toISOString()} ${text}\n`, { mode: 0o600 });
    } catch {
      // Cannot even write the marker: the error below still says what is wrong.
    }
  }
  return new TollstreamError('WAREHOUSE_CORRUPT', `the warehouse file ${path} is damaged (${text}); restart the server to rebuild the warehouse from the log (docs/warehouse.md, "Damaged files")`, {
    context: { path },
    cause: err,
  });
}

/**
 * Opens the file and reads what a start relies on: the header, the catalog and each table's metadata. A
 * damaged file (or one marked damaged) is refused with `WAREHOUSE_CORRUPT`, or, with `rebuild`, moved aside
 * and replaced by an empty database, and `rebuild` is told.
 */
export async function openDuckDBFile(
  path: string,
  config: Record<string, string>,
  rebuild: ((event: DamagedWarehouse) => void) | undefined,
): Promise<{ instance: DuckDBInstance; writer: DuckDBConnection }> {
  let reason: string | undefined;
  if (path !== ':memory:' && fs.existsSync(markerPath(path))) {
    reason = `marked damaged while running: ${fs.readFileSync(markerPath(path), 'utf8').trim()}`;
  } else {
    try {
      return await openAndProbe(path, config);
    } catch (err) {
      if (!isTollstreamError(err, 'WAREHOUSE_CORRUPT')) throw err;
      reason = err.message;
    }
  }
  if (!rebuild) {
    throw new TollstreamError('WAREHOUSE_CORRUPT', `the warehouse file ${path} is damaged (${reason}); move it aside to have the warehouse rebuilt from the log`, { context: { path } });
  }
  const movedTo = moveAside(path);
  rebuild({ path, movedTo, reason });
  return openAndProbe(path, config);
}

async function openAndProbe(path: string, config: Record<string, string>): Promise<{ instance: DuckDBInstance; writer: DuckDBConnection }> {
  // Replaying a write-ahead log allocates blocks the file does not have yet: the length says something only
  // about a file that was closed cleanly.
  const closedCleanly = path !== ':memory:' && !fs.existsSync(`${path}.wal`);
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, config);
  } catch (err) {
    if (isDamage(err)) throw new TollstreamError('WAREHOUSE_CORRUPT', `cannot open the DuckDB warehouse at ${path}: ${message(err)}`, { context: { path }, cause: err });
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `cannot open the DuckDB warehouse at ${path}: ${message(err)}; check the path and that no other process has it open`, {
      context: { path },
      cause: err,
    });
  }
  const writer = await instance.connect();
  try {
    const found = await writer.runAndReadAll("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()");
    const tables = found.getRowsJS().map(([schema, table]) => [String(schema), String(table)] as const);
    for (const [schema, table] of tables) await writer.run(`SELECT count(*) FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`);
    if (closedCleanly) await checkLength(path, writer, tables);
    return { instance, writer };
  } catch (err) {
    writer.closeSync();
    instance.closeSync();
    if (isTollstreamError(err)) throw err;
    if (isDamage(err)) throw new TollstreamError('WAREHOUSE_CORRUPT', `the DuckDB warehouse at ${path} is damaged: ${message(err)}`, { context: { path }, cause: err });
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `cannot read the DuckDB warehouse at ${path}: ${message(err)}`, { context: { path }, cause: err });
  }
}

/** DuckDB's file header: three 4 KiB blocks before the first data block. */
const HEADER_BYTES = 3 * 4096;

/**
 * A file cut short opens without complaint (the catalog and row counts are read from its metadata) and fails
 * only when a query reaches the missing blocks. Every data block a table's segments point at must lie inside
 * the file. (The block count in DuckDB's header is no measure: after a kill it can count blocks never
 * written.) With a write-ahead log left by a crash the replay moves segments into memory, so the check runs
 * only after a clean close; damage met later is marked and rebuilt at the next start.
 */
async function checkLength(path: string, writer: DuckDBConnection, tables: readonly (readonly [string, string])[]): Promise<void> {
  const size = await writer.runAndReadAll('SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()');
  const blockSize = Number(size.getRowsJS()[0]?.[0] ?? 0);
  if (blockSize <= 0) return;
  let highest = -1;
  for (const [schema, table] of tables) {
    const reader = await writer.runAndReadAll(
      `SELECT max(greatest(block_id, list_max(coalesce(additional_block_ids, []::BIGINT[])))) FROM pragma_storage_info($name) WHERE persistent`,
      { name: `${quoteIdentifier(schema)}.${quoteIdentifier(table)}` },
    );
    const block = reader.getRowsJS()[0]?.[0];
    if (block !== null && block !== undefined) highest = Math.max(highest, Number(block));
  }
  const needed = HEADER_BYTES + (highest + 1) * blockSize;
  const actual = fs.statSync(path).size;
  if (highest >= 0 && actual < needed) {
    throw new TollstreamError('WAREHOUSE_CORRUPT', `the DuckDB warehouse at ${path} is cut short: ${actual} bytes, but its tables use block ${highest}, which ends at byte ${needed}`, {
      context: { path, bytes: actual, expectedBytes: needed },
    });
  }
}

/** Renames the file and its write-ahead log to `<name>.damaged-<time>` and drops the marker; returns the new names. */
function moveAside(path: string): string[] {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const moved: string[] = [];
  for (const file of [path, `${path}.wal`]) {
    if (!fs.existsSync(file)) continue;
    const to = `${file}.damaged-${stamp}`;
    fs.renameSync(file, to);
    moved.push(to);
  }
  fs.rmSync(markerPath(path), { force: true });
  return moved;
}

function markerPath(path: string): string {
  return `${path}.damaged`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
