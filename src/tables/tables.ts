/**
 * `openTables`: tables on one SQLite database file through better-sqlite3 (synchronous), in WAL mode.
 * One connection per process; SQLite serializes writers, so each write transaction sees the latest commit.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { writeNewFileSync } from '../core/durable-files.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { assertTableName } from './keys.ts';
import { ItemOps, tableExists, tableNotFound, type StoredTable } from './ops.ts';
import { migrateTables } from './schema.ts';
import type { TableDescription, TableOps, Tables, TableTx, TableTxCore, TransactionOptions } from './types.ts';

export interface TablesOptions {
  /** The database file (created with its directory if missing), or ':memory:' for a private in-memory one. */
  readonly path: string;
  readonly logger?: Logger;
  /**
   * `full` (the default): every commit is fsynced before it returns, so a committed checkpoint or outbox row
   * survives a power loss, matching the stream log's `fsync: 'always'`. `normal`: in WAL mode commits
   * survive a process crash but the last ones can roll back on power loss (state and checkpoint roll back
   * together, so redelivery repairs state; but notifications already sent would be sent again).
   * @default 'full'
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long a write waits for another process's write lock before failing, in ms. @default 5000 */
  readonly busyTimeoutMs?: number;
  /**
   * Refuse to start empty where a database used to be. The first open leaves `<path>.created` beside the
   * file; an open that finds that marker but no database refuses with `TABLES_MISSING` instead of creating an
   * empty one (which would silently lose every item and checkpoint). Delete the marker too to start empty on
   * purpose. @default false
   */
  readonly refuseLostFile?: boolean;
  /** The clock stamped on items and checkpoints. @default Date.now */
  readonly now?: () => number;
}

/** A method added to every transaction handle by another component (see `internal.ts`). */
export type TxDecoration = (tx: TableTx, ...args: never[]) => unknown;

/** What sibling components reach through `internal.ts`; not part of the public door. */
export interface TablesInternals {
  readonly db: Database.Database;
  readonly logger: Logger;
  readonly now: () => number;
  decorate(name: string, method: TxDecoration): void;
  /** Runs `fn` after the current outermost transaction commits (right away when none is open). */
  afterCommit(fn: () => void): void;
  /** Runs `fn` at the start of `close()`, so background work on the database stops first. */
  onClose(fn: () => void): void;
  /**
   * The current outermost transaction has an effect outside the database (a notification to dispatch), so
   * its commit is flushed to disk before `transaction()` returns even when it was opened with
   * `flush: 'when-needed'`. Outside a transaction, flushes every earlier commit now.
   */
  requireFlush(): void;
  /** Commits so far, by whether they were flushed to disk before returning. */
  readonly stats: CommitStats;
  /** How long a write waits for another connection's write lock, in ms. */
  readonly busyTimeoutMs: number;
  /** The names of the methods other components added to transaction handles. */
  decorations(): readonly string[];
  /**
   * Opens an outermost write transaction that stays open across awaits (the asynchronous door), or returns
   * undefined at once when another connection holds the write lock (the caller waits without blocking the
   * event loop and tries again). Until it ends, every other use of these tables throws IO_ERROR (busy).
   */
  tryBeginOpen(relaxed: boolean): OpenTransaction | undefined;
}

/** A write transaction held open across awaits; see `TablesInternals.tryBeginOpen`. */
export interface OpenTransaction {
  /** The transaction's handle, decorations included; every call on it must go through `run`. */
  readonly tx: TableTx;
  /** Runs synchronous work of this transaction (tx calls), mapping SQLite errors. */
  run<T>(fn: () => T): T;
  /** Starts a savepoint; returns how to release it or roll back to it. */
  savepoint(): { release(): void; rollback(): void };
  commit(): void;
  rollback(): void;
}

export interface CommitStats {
  /** Commits flushed to disk before they returned: they survive a power loss. */
  flushedCommits: number;
  /** Commits that returned without a flush (`flush: 'when-needed'` with nothing outside, or `synchronous: 'normal'`). */
  unflushedCommits: number;
}

const internals = new WeakMap<Tables, TablesInternals>();

export function tablesInternals(tables: Tables): TablesInternals {
  const found = internals.get(tables);
  if (!found) throw new TollstreamError('INVALID_ARGUMENT', 'expected a Tables object returned by openTables()');
  return found;
}

export function openTables(options: TablesOptions): Tables {
  const logger = (options.logger ?? silentLogger).child({ component: 'tables' });
  const now = options.now ?? Date.now;
  const onDisk = options.path !== ':memory:';
  if (onDisk) mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
  if (onDisk && options.refuseLostFile) refuseIfLost(options.path);
  let db: Database.Database;
  try {
    db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    // SQLite keeps no checksums; a quick check at least finds damaged pages and b-trees before anything is read.
    if (onDisk) checkIntegrity(db, options.path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    migrateTables(db);
  } catch (err) {
    if (err instanceof TollstreamError) throw err;
    if (CORRUPTION_CODES.has((err as { code?: string }).code ?? '')) throw corrupt(options.path, (err as Error).message, err);
    throw new TollstreamError('IO_ERROR', `cannot open the tables database at ${options.path}: ${(err as Error).message}`, {
      context: { path: options.path },
      cause: err,
    });
  }
  if (onDisk && options.refuseLostFile) markCreated(options.path);
  const durable = options.synchronous !== 'normal';
  const walPath = options.path === ':memory:' ? undefined : `${path.resolve(options.path)}-wal`;
  const tables = new SqliteTables(db, logger, now, durable, walPath, options.busyTimeoutMs ?? 5000);
  internals.set(tables, tables.internals);
  logger.info('tables opened', { path: options.path, synchronous: options.synchronous ?? 'full' });
  return tables;
}

/** better-sqlite3 error codes that mean the file is not a sound SQLite database. */
const CORRUPTION_CODES: ReadonlySet<string> = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB']);

function corrupt(file: string, problem: string, cause?: unknown): TollstreamError {
  return new TollstreamError(
    'TABLES_CORRUPT',
    `the tables database ${file} is damaged (${problem}); it is not opened. Restore it from a backup, or try the sqlite3 shell's .recover into a new file (docs/tables.md, "Damaged files")`,
    { context: { path: file }, ...(cause === undefined ? {} : { cause }) },
  );
}

function checkIntegrity(db: Database.Database, file: string): void {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check(20)') as { quick_check: string }[]).map((r) => r.quick_check);
  } catch (err) {
    db.close();
    // A check that could not read (a full or failing disk: SQLITE_IOERR*, SQLITE_FULL) says nothing of the file.
    const code = (err as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'SQLITE_CANTOPEN') {
      throw new TollstreamError('IO_ERROR', `cannot check the tables database ${file}: ${(err as Error).message}`, { context: { path: file }, cause: err });
    }
    throw corrupt(file, `PRAGMA quick_check: ${(err as Error).message}`, err);
  }
  if (problems.length === 1 && problems[0] === 'ok') return;
  db.close();
  throw corrupt(file, `PRAGMA quick_check: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; ...' : ''}`);
}

const markerPath = (file: string) => `${path.resolve(file)}.created`;

function refuseIfLost(file: string): void {
  if (!existsSync(markerPath(file)) || existsSync(file)) return;
  throw new TollstreamError(
    'TABLES_MISSING',
    `the tables database ${file} is missing, but ${markerPath(file)} says it existed: starting empty would lose its items and checkpoints. Restore the file from a backup, or delete ${markerPath(file)} to start empty on purpose`,
    { context: { path: file, marker: markerPath(file) } },
  );
}

/** Leaves the marker (durably: the file and its directory entry) once a database exists at `file`. */
function markCreated(file: string): void {
  if (existsSync(markerPath(file))) return;
  writeNewFileSync(markerPath(file), `${new Date().toISOString()} ${path.basename(file)} was created; while this file exists, a missing ${path.basename(file)} is refused at open\n`);
}

class SqliteTables implements Tables {
  readonly #db: Database.Database;
  readonly #logger: Logger;
  readonly #ops: ItemOps;
  /**
   * Table ids by name, so item operations skip the lookup; listing and describing read ts_tables instead. A write
   * transaction forgets them when another connection has committed since (`#dataVersion`), as it may have deleted
   * a table and created it again: a write never lands on a table id that is gone. Reads outside a transaction
   * trust them, as checking there costs a second read of the database per call.
   */
  readonly #known = new Map<string, StoredTable>();
  /** `PRAGMA data_version`: changes when another connection commits, never for this one's own commits. */
  readonly #dataVersion: Database.Statement<[], number>;
  #knownAt = -1;
  readonly #decorations = new Map<string, TxDecoration>();
  readonly #inTransaction: (fn: () => unknown) => unknown;
  #afterCommit: (() => void)[] = [];
  readonly #onClose: (() => void)[] = [];
  #depth = 0;
  #closed = false;
  /** `synchronous: 'full'` was asked for; false means no commit is ever flushed on its own. */
  readonly #durable: boolean;
  /** The WAL file, flushed by hand for a relaxed transaction that turned out to need it; none in memory. */
  readonly #walPath: string | undefined;
  #walDirSynced = false;
  /** The outermost open transaction runs with `synchronous = NORMAL` (flush: 'when-needed'). */
  #relaxed = false;
  /** Something in the relaxed outermost transaction needs its commit flushed (see requireFlush). */
  #flushNeeded = false;
  readonly #stats: CommitStats = { flushedCommits: 0, unflushedCommits: 0 };
  /** Set when a flush after commit failed: writes are refused from then on (see #flushWal). */
  #failed: TollstreamError | undefined;
  /** The transaction held open across awaits by the asynchronous door, if one is. */
  #open: OpenTransaction | undefined;
  /** The open transaction's own work is running (anything else while it is open is refused). */
  #openActive = false;
  #savepoints = 0;
  readonly internals: TablesInternals;

  constructor(db: Database.Database, logger: Logger, now: () => number, durable: boolean, walPath: string | undefined, busyTimeoutMs: number) {
    this.#db = db;
    this.#logger = logger;
    this.#durable = durable;
    this.#walPath = walPath;
    this.#ops = new ItemOps(db, (t) => this.#stored(t), now);
    // BEGIN IMMEDIATE takes the write lock up front, so a read-then-write never fails half way on a lock upgrade.
    this.#inTransaction = db.transaction((fn: () => unknown) => fn()).immediate;
    this.#dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.internals = {
      db,
      logger,
      now,
      decorate: (name, method) => {
        if (name in TX_METHODS || this.#decorations.has(name)) {
          throw new TollstreamError('INVALID_ARGUMENT', `transactions already have a method '${name}'`, { context: { name } });
        }
        this.#decorations.set(name, method);
      },
      afterCommit: (fn) => {
        if (this.#depth > 0) this.#afterCommit.push(fn);
        else fn();
      },
      onClose: (fn) => {
        this.#onClose.push(fn);
      },
      requireFlush: () => {
        if (this.#depth > 0) this.#flushNeeded = true;
        else if (this.#durable) this.#flushWal();
      },
      stats: this.#stats,
      busyTimeoutMs,
      decorations: () => [...this.#decorations.keys()],
      tryBeginOpen: (relaxed) => this.#tryBeginOpen(relaxed, busyTimeoutMs),
    };
  }

  #tryBeginOpen(relaxed: boolean, busyTimeoutMs: number): OpenTransaction | undefined {
    this.#assertOpen();
    this.#assertNotHeld();
    if (this.#failed) throw this.#failed;
    if (this.#depth > 0) {
      throw new TollstreamError('INVALID_ARGUMENT', 'an asynchronous transaction cannot start inside a synchronous one');
    }
    this.#relaxed = relaxed && this.#durable;
    this.#flushNeeded = false;
    if (this.#relaxed) this.#db.exec('PRAGMA synchronous = NORMAL');
    // Without waiting: a busy wait here would block the event loop, and with it the lock holder if it is us.
    this.#db.pragma('busy_timeout = 0');
    try {
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      if (this.#relaxed) this.#db.exec('PRAGMA synchronous = FULL');
      if (String((err as { code?: unknown }).code).startsWith('SQLITE_BUSY')) return undefined;
      throw mapSqliteError(err);
    } finally {
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
    this.#depth++;
    const sync = new Transaction(this.#ops, this.#decorations);
    const run = <T>(fn: () => T): T => {
      if (this.#open !== open) throw new TollstreamError('INVALID_ARGUMENT', 'this transaction has ended; use tx only inside the function given to transaction()');
      this.#openActive = true;
      try {
        return fn();
      } catch (err) {
        throw mapSqliteError(err);
      } finally {
        this.#openActive = false;
      }
    };
    const end = (commit: boolean): void => {
      if (this.#open !== open) return;
      this.#open = undefined;
      sync.finish();
      let committed = false;
      try {
        try {
          this.#db.exec(commit ? 'COMMIT' : 'ROLLBACK');
          committed = commit;
        } catch (err) {
          if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
          throw mapSqliteError(err);
        } finally {
          if (this.#relaxed) this.#db.exec('PRAGMA synchronous = FULL');
        }
        if (committed) this.#settleCommit();
      } finally {
        this.#depth--;
        const callbacks = this.#afterCommit;
        this.#afterCommit = [];
        if (committed) for (const cb of callbacks) runCallback(cb, this.#logger);
      }
    };
    const open: OpenTransaction = {
      tx: sync as unknown as TableTx,
      run,
      savepoint: () => {
        const name = `ts_open_${++this.#savepoints}`;
        run(() => this.#db.exec(`SAVEPOINT ${name}`));
        return {
          release: () => run(() => this.#db.exec(`RELEASE ${name}`)),
          rollback: () => run(() => this.#db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`)),
        };
      },
      commit: () => end(true),
      rollback: () => end(false),
    };
    this.#open = open;
    return open;
  }

  /** Refuses work that is not the open asynchronous transaction's own while it holds the connection. */
  #assertNotHeld(): void {
    if (this.#open && !this.#openActive) {
      throw new TollstreamError(
        'IO_ERROR',
        'the tables database is inside an asynchronous transaction that is waiting on something else; retry once it has ended',
      );
    }
  }

  createTable(name: string, options: { sortKey?: boolean; ifNotExists?: boolean } = {}): TableDescription {
    this.#assertOpen();
    assertTableName(name);
    const sortKey = options.sortKey ?? false;
    return this.#write(() => {
      const existing = this.#lookup(name);
      if (existing) {
        if (options.ifNotExists && existing.sortKey === sortKey) return describe(existing);
        throw tableExists(name, existing.sortKey, sortKey);
      }
      const createdAt = this.internals.now();
      const id = Number(this.#db.prepare('INSERT INTO ts_tables (name, sort_key, created_at) VALUES (?, ?, ?)').run(name, sortKey ? 1 : 0, createdAt).lastInsertRowid);
      const created: StoredTable = { id, name, sortKey, createdAt };
      this.#known.set(name, created);
      return describe(created);
    });
  }

  deleteTable(name: string): void {
    this.#assertOpen();
    const { id } = this.#stored(name);
    this.#write(() => {
      this.#db.prepare('DELETE FROM ts_items WHERE table_id = ?').run(id);
      this.#db.prepare('DELETE FROM ts_tables WHERE id = ?').run(id);
    });
    this.#known.delete(name);
  }

  // Both read the database, not this connection's cache: other connections (a deployed function's worker
  // thread, another process) create and delete tables too. Names are ASCII, so SQLite's byte order is the order.
  listTables(): readonly TableDescription[] {
    return this.#read(() => this.#db.prepare<[], TableRow>('SELECT * FROM ts_tables ORDER BY name').all().map((row) => describe(toStoredTable(row))));
  }

  describeTable(name: string): TableDescription {
    const found = this.#read(() => this.#lookup(name));
    if (!found) {
      this.#known.delete(name);
      throw tableNotFound(name);
    }
    return describe(found);
  }

  #stored(name: string): StoredTable {
    this.#assertOpen();
    if (this.#depth > 0) {
      // Inside a transaction the check reads the snapshot it already holds: well under a microsecond.
      const version = this.#dataVersion.get()!;
      if (version !== this.#knownAt) {
        this.#known.clear();
        this.#knownAt = version;
      }
    }
    const found = this.#known.get(name) ?? this.#lookup(name);
    if (!found) throw tableNotFound(name);
    return found;
  }

  get: TableOps['get'] = (table, key) => this.#read(() => this.#ops.get(table, key));
  query: TableOps['query'] = (table, pk, options) => this.#read(() => this.#ops.query(table, pk, options));
  scan: TableOps['scan'] = (table, options) => this.#read(() => this.#ops.scan(table, options));
  getCheckpoint: TableOps['getCheckpoint'] = (c, s, sh) => this.#read(() => this.#ops.getCheckpoint(c, s, sh));
  listCheckpoints: TableOps['listCheckpoints'] = (c) => this.#read(() => this.#ops.listCheckpoints(c));
  put: TableOps['put'] = (table, key, value, options) => this.#write(() => this.#ops.put(table, key, value, options));
  delete: TableOps['delete'] = (table, key, options) => this.#write(() => this.#ops.delete(table, key, options));
  update: TableOps['update'] = (table, key, spec) => this.#write(() => this.#ops.update(table, key, spec));

  deleteCheckpoints(consumer: string): number {
    this.#assertOpen();
    return this.#write(() => this.#db.prepare('DELETE FROM ts_checkpoints WHERE consumer = ?').run(consumer).changes);
  }

  transaction<T>(fn: (tx: TableTx) => T, options?: TransactionOptions): T {
    this.#assertOpen();
    // Decorations (such as notifications' `publish`) are attached at run time; see TxDecoration.
    const tx = new Transaction(this.#ops, this.#decorations) as unknown as TableTx & Transaction;
    try {
      return this.#write(() => {
        const result = fn(tx);
        if (isThenable(result)) {
          throw new TollstreamError(
            'INVALID_ARGUMENT',
            'the transaction function returned a promise; it must be synchronous (do async work before or after the transaction)',
          );
        }
        return result;
      }, options?.flush === 'when-needed');
    } finally {
      tx.finish();
    }
  }

  close(): void {
    if (this.#closed) return;
    for (const fn of this.#onClose) runCallback(fn, this.#logger);
    this.#closed = true;
    this.#db.close();
    this.#logger.info('tables closed');
  }

  /**
   * Runs `fn` in a write transaction (or as part of the enclosing one) and maps SQLite errors. `relaxed`:
   * commit without waiting for the disk unless requireFlush() was called in it (see TransactionOptions).
   */
  #write<T>(fn: () => T, relaxed = false): T {
    this.#assertOpen();
    this.#assertNotHeld();
    if (this.#failed) throw this.#failed;
    const outermost = this.#depth === 0;
    if (outermost) {
      this.#relaxed = relaxed && this.#durable;
      this.#flushNeeded = false;
      // SQLite refuses to change the safety level inside a transaction, so it is set before BEGIN and set back
      // right after COMMIT (statements other components run outside transactions stay flushed). exec, not a
      // prepared statement: SQLite applies this pragma when it compiles it, so a prepared one would not rerun.
      if (this.#relaxed) this.#db.exec('PRAGMA synchronous = NORMAL');
    } else if (!relaxed && this.#relaxed) {
      // A nested write that asks for durability makes the whole (outer) transaction flushed.
      this.#flushNeeded = true;
    }
    this.#depth++;
    let committed = false;
    try {
      let result: T;
      try {
        result = this.#inTransaction(fn) as T;
      } finally {
        if (outermost && this.#relaxed) this.#db.exec('PRAGMA synchronous = FULL');
      }
      if (outermost) this.#settleCommit();
      committed = true;
      return result;
    } catch (err) {
      throw mapSqliteError(err);
    } finally {
      this.#depth--;
      if (this.#depth === 0) {
        const callbacks = this.#afterCommit;
        this.#afterCommit = [];
        if (committed) for (const cb of callbacks) runCallback(cb, this.#logger);
      }
    }
  }

  /** Counts the outermost commit just made, flushing it first when it was relaxed but needs durability. */
  #settleCommit(): void {
    if (this.#relaxed && this.#flushNeeded) this.#flushWal();
    if (this.#durable && (!this.#relaxed || this.#flushNeeded)) this.#stats.flushedCommits++;
    else this.#stats.unflushedCommits++;
  }

  /**
   * Makes every commit so far durable, as a commit with `synchronous = FULL` would: in WAL mode a commit is
   * durable once the WAL file's frames are on disk. Runs before transaction() returns, so afterCommit work
   * (waking the notification dispatcher) starts only after it. A failure leaves the commit in the database
   * but not known to be on disk; it is reported as IO_ERROR, the afterCommit work does not run, and every later
   * write is refused with the same error until the database is opened again: a caller that retried (a function
   * redelivering its batch) would otherwise apply on top of a commit it believes failed. Reopened, the database
   * holds what reached the disk, state and checkpoints together.
   */
  #flushWal(): void {
    if (this.#walPath === undefined) return;
    try {
      const fd = openSync(this.#walPath, 'r');
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (!this.#walDirSynced) {
        // The WAL file's directory entry, once: SQLite syncs it at the WAL's first sync, which may be ours.
        const dirFd = openSync(path.dirname(this.#walPath), 'r');
        try {
          fsyncSync(dirFd);
        } finally {
          closeSync(dirFd);
        }
        this.#walDirSynced = true;
      }
    } catch (err) {
      this.#failed = new TollstreamError(
        'IO_ERROR',
        `a commit of the tables database could not be flushed to disk: ${(err as Error).message}; writes are refused until the database is opened again (restart Tollstream once the disk is fixed)`,
        { context: { path: this.#walPath }, cause: err },
      );
      this.#logger.error('tables flush failed; refusing writes until reopened', { path: this.#walPath, err });
      throw this.#failed;
    }
  }

  #read<T>(fn: () => T): T {
    this.#assertOpen();
    this.#assertNotHeld();
    try {
      return fn();
    } catch (err) {
      throw mapSqliteError(err);
    }
  }

  #lookup(name: string): StoredTable | undefined {
    const row = this.#db.prepare<[string], TableRow>('SELECT * FROM ts_tables WHERE name = ?').get(name);
    if (!row) return undefined;
    const found = toStoredTable(row);
    this.#known.set(name, found);
    return found;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TollstreamError('INTERNAL', 'the tables database is closed; open it again with openTables()');
  }
}

const TX_METHODS = { get: 1, put: 1, delete: 1, update: 1, query: 1, getCheckpoint: 1, listCheckpoints: 1, setCheckpoint: 1 } as const;

/** The `tx` handle: the item operations plus decorations, usable only while its transaction runs. */
class Transaction implements TableTxCore {
  #ops: ItemOps | undefined;

  constructor(ops: ItemOps, decorations: ReadonlyMap<string, TxDecoration>) {
    this.#ops = ops;
    for (const [name, method] of decorations) {
      Object.defineProperty(this, name, {
        value: (...args: never[]) => (this.#live(), method(this as unknown as TableTx, ...args)),
        enumerable: false,
      });
    }
  }

  finish(): void {
    this.#ops = undefined;
  }

  #live(): ItemOps {
    if (!this.#ops) {
      throw new TollstreamError('INVALID_ARGUMENT', 'this transaction has ended; use tx only inside the function given to transaction()');
    }
    return this.#ops;
  }

  get: TableOps['get'] = (table, key) => this.#live().get(table, key);
  put: TableOps['put'] = (table, key, value, options) => this.#live().put(table, key, value, options);
  delete: TableOps['delete'] = (table, key, options) => this.#live().delete(table, key, options);
  update: TableOps['update'] = (table, key, spec) => this.#live().update(table, key, spec);
  query: TableOps['query'] = (table, pk, options) => this.#live().query(table, pk, options);
  scan: TableOps['scan'] = (table, options) => this.#live().scan(table, options);
  getCheckpoint: TableOps['getCheckpoint'] = (c, s, sh) => this.#live().getCheckpoint(c, s, sh);
  listCheckpoints: TableOps['listCheckpoints'] = (c) => this.#live().listCheckpoints(c);
  setCheckpoint: TableTxCore['setCheckpoint'] = (c, s, sh, seq) => this.#live().setCheckpoint(c, s, sh, seq);
}

interface TableRow {
  id: number;
  name: string;
  sort_key: number;
  created_at: number;
}

function toStoredTable(row: TableRow): StoredTable {
  return { id: row.id, name: row.name, sortKey: row.sort_key === 1, createdAt: row.created_at };
}

function describe(table: StoredTable): TableDescription {
  return { name: table.name, sortKey: table.sortKey, createdAt: table.createdAt };
}

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function mapSqliteError(err: unknown): unknown {
  if (err instanceof TollstreamError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    const busy = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
    const io = busy || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'SQLITE_CANTOPEN';
    if (io) {
      return new TollstreamError(
        'IO_ERROR',
        busy ? 'the tables database is locked by another writer for longer than the busy timeout; retry' : `the tables database failed: ${(err as Error).message}`,
        { context: { sqliteCode: code }, cause: err },
      );
    }
  }
  return err;
}

function runCallback(cb: () => void, logger: Logger): void {
  try {
    cb();
  } catch (err) {
    logger.error('a callback of a sibling component failed', { err });
  }
}
