/**
 * Reference data that a stream joins to (lookup join), as it is at the moment a row is processed:
 * - a static table (rows read once: the bounded file runner);
 * - a file table that re-reads its CSV/JSON file when the file changes (live queries);
 * - a changelog table: the latest record per key of a log stream, fed by the live runner.
 * A file table only ever swaps in whole new contents, so a join sees the old rows or the new ones, never a mix.
 * Rows are held column by column (`ColumnarRows`); a join reads them through its own index (`RowIndex`), or
 * through a changelog table's index on its key.
 */
import { stat } from 'node:fs/promises';
import { isTollstreamError, TollstreamError } from '../core/errors.ts';
import { ColumnarRows, rowsFrom } from './columnar-rows.ts';
import type { Row } from './expr/types.ts';
import { RowError } from './expr/types.ts';
import { refRecordToRow } from './inputs.ts';
import type { RefTableDef } from './planner/logical/nodes.ts';
import { loadRefTable } from './reference-load.ts';
import { KeyedRows, type RowIndex } from './row-index.ts';

export interface ReferenceTable {
  readonly name: string;
  /** Changes whenever the rows change; a lookup index is rebuilt when it does. */
  readonly version: number;
  /** The rows now: replaced whole when a file is reloaded, changed in place by a changelog (`version` moves). */
  data(): ColumnarRows;
  /**
   * An index the table keeps current on exactly these key columns, with keys compared as `keyOf` compares
   * them (a changelog table's key), or null: the join then builds its own.
   */
  keyIndex?(columns: readonly number[]): RowIndex | null;
}

/** Rows that never change (VALUES, a file read once): the values are kept as given, whatever their type. */
export function staticReferenceTable(name: string, rows: readonly Row[] | ColumnarRows): ReferenceTable {
  const data = rows instanceof ColumnarRows ? rows : rowsFrom(rows.length === 0 ? [] : rows[0]!.map(() => 'ANY'), rows);
  return { name, version: 0, data: () => data };
}

/** Default refresh interval of file tables in live queries, ms. */
export const DEFAULT_LIVE_REFRESH_MS = 10_000;

export interface ReloadListener {
  /** The file changed and its new contents are in use. */
  readonly onReload?: (table: string, rows: number) => void;
  /** The file changed but could not be read or parsed: the previous rows stay in use. */
  readonly onReloadError?: (table: string, path: string, message: string) => void;
}

/**
 * Where a file table's file is: the real path to open for the path the SQL names, checked each time the file
 * is read (a file swapped for a link that leads elsewhere is refused at the next check). Throws
 * PATH_NOT_ALLOWED for a path the runner does not allow, or the file system's error for a missing file.
 */
export type LocateFile = (requested: string) => Promise<string>;

/** A CSV/JSON reference table that re-reads its file when its modification time, size or inode change. */
export class FileReferenceTable implements ReferenceTable {
  version = 0;
  private current = new ColumnarRows([]);
  private fingerprint = '';
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** The path as the SQL names it. */
  readonly path: string;

  constructor(
    readonly def: RefTableDef,
    private readonly locate: LocateFile,
    /** How often the file is checked for a change, ms; 0 never. */
    readonly refreshMs: number,
  ) {
    this.path = def.path!;
  }

  get name(): string {
    return this.def.name;
  }

  data(): ColumnarRows {
    return this.current;
  }

  /** Every row, made anew (for small tables and tests). */
  rows(): Row[] {
    return this.current.rows();
  }

  /** The first read; throws `PATH_NOT_ALLOWED`, or `SQL_INPUT` when the file cannot be read or parsed. */
  async load(): Promise<void> {
    const found = await this.find();
    this.current = await loadRefTable(this.def, '/', found.file);
    this.fingerprint = found.fingerprint;
  }

  /**
   * Checks the file as `load` does (`PATH_NOT_ALLOWED`, `SQL_INPUT` for a missing file) without reading its rows,
   * for a plan whose operators run elsewhere: the table keeps no rows.
   */
  async checkFile(): Promise<void> {
    await this.find();
  }

  private async find(): Promise<{ file: string; fingerprint: string }> {
    try {
      return await this.stamp();
    } catch (err) {
      if (isTollstreamError(err)) throw err;
      throw new TollstreamError('SQL_INPUT', `cannot read reference table ${this.name} from ${this.path}: ${(err as Error).message}`, { context: { table: this.name, path: this.path }, cause: err });
    }
  }

  /** Starts checking the file every `refreshMs` (no-op when 0). */
  start(listener: ReloadListener): void {
    if (this.refreshMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.checking ??= this.check(listener).finally(() => {
        this.checking = null;
      });
    }, this.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  /** Reloads when the file changed. A failed reload keeps the previous rows and is reported once per change. */
  async check(listener: ReloadListener = {}): Promise<void> {
    let found: { file: string; fingerprint: string };
    try {
      found = await this.stamp();
    } catch (err) {
      const fingerprint = `missing: ${(err as Error).message}`;
      if (fingerprint !== this.fingerprint) listener.onReloadError?.(this.name, this.path, `cannot read reference table ${this.name} from ${this.path}: ${(err as Error).message}; the previous rows stay in use`);
      this.fingerprint = fingerprint;
      return;
    }
    if (found.fingerprint === this.fingerprint) return;
    this.fingerprint = found.fingerprint;
    try {
      // Read whole aside, then swapped in: a lookup sees the old rows or the new ones.
      const rows = await loadRefTable(this.def, '/', found.file);
      this.current = rows;
      this.version++;
      listener.onReload?.(this.name, rows.size);
    } catch (err) {
      listener.onReloadError?.(this.name, this.path, `${(err as Error).message}; the previous rows of ${this.name} stay in use`);
    }
  }

  /** The file to read now and its identity (inode, size, modification time). */
  private async stamp(): Promise<{ file: string; fingerprint: string }> {
    const file = await this.locate(this.path);
    const s = await stat(file);
    return { file, fingerprint: `${file}:${s.ino}:${s.size}:${s.mtimeMs}` };
  }
}

/**
 * The latest record per key of a changelog (a log stream): a record replaces the one with the same key; a
 * record with `_deleted: true` removes its key. Records are applied in the order they are given.
 */
export class ChangelogReferenceTable implements ReferenceTable {
  version = 0;
  private readonly keyed: KeyedRows;
  /** Records that could not be applied (not an object, a key column missing, a bad value). */
  rejected = 0;

  constructor(readonly def: RefTableDef) {
    const keyColumns = def.key.map((k) => def.columns.findIndex((c) => c.name.toLowerCase() === k.toLowerCase()));
    // Keys compare as a join's keys do (`keyOf`): one key by value, several as their JSON text.
    this.keyed = new KeyedRows(new ColumnarRows(def.columns.map((c) => c.type)), keyColumns, keyColumns.length > 1);
  }

  get name(): string {
    return this.def.name;
  }

  get size(): number {
    return this.keyed.rows.size;
  }

  data(): ColumnarRows {
    return this.keyed.rows;
  }

  keyIndex(columns: readonly number[]): RowIndex | null {
    const own = this.keyed.keyColumns;
    return columns.length === own.length && columns.every((c, i) => c === own[i]) ? this.keyed.keyIndex : null;
  }

  /** Every row, made anew (for small tables and tests). */
  rows(): Row[] {
    return this.keyed.rows.rows();
  }

  /** Applies one changelog record; returns a reason when it cannot be applied (it is then ignored). */
  apply(record: unknown): string | null {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'the record is not a JSON object';
    let row: Row;
    try {
      row = refRecordToRow(this.def, record as Record<string, unknown>);
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      this.rejected++;
      return err.message;
    }
    if (this.keyed.keyColumns.some((c) => row[c] === null)) {
      this.rejected++;
      return `the key (${this.def.key.join(', ')}) has a null or missing column`;
    }
    const deleted = (record as Record<string, unknown>)._deleted === true;
    if (deleted) {
      if (this.keyed.delete(row)) this.version++;
    } else {
      this.keyed.upsert(row);
      this.version++;
    }
    return null;
  }
}

/**
 * The rows of a changelog table from a bounded input (the file runner): every record is applied, in order,
 * before the table is used. Records that cannot be applied are counted in the returned `rejected`.
 */
export async function changelogRows(def: RefTableDef, batches: AsyncIterable<readonly unknown[]>): Promise<{ rows: readonly Row[]; table: ChangelogReferenceTable; rejected: number }> {
  const table = new ChangelogReferenceTable(def);
  let rejected = 0;
  for await (const batch of batches) for (const rec of batch) if (table.apply(rec) !== null) rejected++;
  return {
    get rows() {
      return table.rows();
    },
    table,
    rejected,
  };
}
