/**
 * The asynchronous door over SQLite: `sqliteTableStore(tables)` serves `TableStore` from an open `Tables`.
 * better-sqlite3 has one connection per `Tables`, so everything through the door runs one at a time: a
 * transaction holds the connection (BEGIN IMMEDIATE ... COMMIT) until its function's promise settles, and
 * other calls queue behind it. Waiting for another connection's write lock happens without blocking the
 * event loop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TollstreamError } from '../core/errors.ts';
import { assertOutsideTransaction, SerialQueue, withinTransaction } from './store.ts';
import { tablesInternals, type OpenTransaction, type TablesInternals } from './tables.ts';
import type { StoreOps, StoreTx, StoreTxCore, TableOps, Tables, TableStore, TransactionOptions } from './types.ts';

/** One queue per `Tables`: two stores over the same connection must not interleave either. */
const queues = new WeakMap<Tables, SerialQueue>();

/** The asynchronous door over `tables`; closing the store closes `tables`. */
export function sqliteTableStore(tables: Tables): TableStore {
  let queue = queues.get(tables);
  if (!queue) queues.set(tables, (queue = new SerialQueue()));
  return new SqliteTableStore(tables, tablesInternals(tables), queue);
}

class SqliteTableStore implements TableStore {
  readonly backend = 'sqlite';
  readonly #tables: Tables;
  readonly #internals: TablesInternals;
  readonly #queue: SerialQueue;

  constructor(tables: Tables, internals: TablesInternals, queue: SerialQueue) {
    this.#tables = tables;
    this.#internals = internals;
    this.#queue = queue;
  }

  #serial<T>(operation: string, fn: () => Promise<T> | T): Promise<T> {
    try {
      assertOutsideTransaction(this, operation);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.run(fn);
  }

  createTable: TableStore['createTable'] = (name, options) => this.#serial('createTable', () => this.#tables.createTable(name, options));
  deleteTable: TableStore['deleteTable'] = (name) => this.#serial('deleteTable', () => this.#tables.deleteTable(name));
  listTables: TableStore['listTables'] = () => this.#serial('listTables', () => this.#tables.listTables());
  describeTable: TableStore['describeTable'] = (name) => this.#serial('describeTable', () => this.#tables.describeTable(name));
  deleteCheckpoints: TableStore['deleteCheckpoints'] = (consumer) => this.#serial('deleteCheckpoints', () => this.#tables.deleteCheckpoints(consumer));

  // Reads never wait for a lock in WAL mode; writes go through a transaction, which waits without blocking.
  get: StoreOps['get'] = (table, key) => this.#serial('get', () => this.#tables.get(table, key));
  query: StoreOps['query'] = (table, pk, options) => this.#serial('query', () => this.#tables.query(table, pk, options));
  scan: StoreOps['scan'] = (table, options) => this.#serial('scan', () => this.#tables.scan(table, options));
  getCheckpoint: StoreOps['getCheckpoint'] = (c, s, sh) => this.#serial('getCheckpoint', () => this.#tables.getCheckpoint(c, s, sh));
  listCheckpoints: StoreOps['listCheckpoints'] = (c) => this.#serial('listCheckpoints', () => this.#tables.listCheckpoints(c));
  put: StoreOps['put'] = (table, key, value, options) => this.transaction((tx) => tx.put(table, key, value, options));
  delete: StoreOps['delete'] = (table, key, options) => this.transaction((tx) => tx.delete(table, key, options));
  update: StoreOps['update'] = (table, key, spec) => this.transaction((tx) => tx.update(table, key, spec));

  transaction<T>(fn: (tx: StoreTx) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return this.#serial('transaction', async () => {
      const open = await this.#begin(options?.flush === 'when-needed');
      const tx = new SqliteStoreTx(open, this.#internals.decorations()) as unknown as StoreTx;
      let result: T;
      try {
        result = await withinTransaction(this, async () => fn(tx));
      } catch (err) {
        open.rollback();
        throw err;
      }
      open.commit();
      return result;
    });
  }

  /** BEGIN IMMEDIATE, waiting (without blocking) up to the busy timeout while another connection writes. */
  async #begin(relaxed: boolean): Promise<OpenTransaction> {
    const deadline = Date.now() + this.#internals.busyTimeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const open = this.#internals.tryBeginOpen(relaxed);
      if (open) return open;
      if (Date.now() >= deadline) {
        throw new TollstreamError('IO_ERROR', 'the tables database is locked by another writer for longer than the busy timeout; retry', {
          context: { busyTimeoutMs: this.#internals.busyTimeoutMs },
        });
      }
      await sleep(delay * (0.5 + Math.random()));
    }
  }

  async close(): Promise<void> {
    await this.#queue.drain();
    this.#tables.close();
  }
}

/** `tx` of the SQLite door: each call runs synchronously inside the open transaction. */
class SqliteStoreTx implements StoreTxCore {
  readonly #open: OpenTransaction;

  constructor(open: OpenTransaction, decorations: readonly string[]) {
    this.#open = open;
    const sync = open.tx as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of decorations) {
      Object.defineProperty(this, name, { value: async (...args: unknown[]) => open.run(() => sync[name]!(...args)), enumerable: false });
    }
  }

  #call<K extends keyof TableOps | 'setCheckpoint'>(name: K, args: unknown[]): Promise<never> {
    const sync = this.#open.tx as unknown as Record<string, (...a: unknown[]) => never>;
    try {
      return Promise.resolve(this.#open.run(() => sync[name]!(...args)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  get: StoreOps['get'] = (...args) => this.#call('get', args);
  put: StoreOps['put'] = (...args) => this.#call('put', args);
  delete: StoreOps['delete'] = (...args) => this.#call('delete', args);
  update: StoreOps['update'] = (...args) => this.#call('update', args);
  query: StoreOps['query'] = (...args) => this.#call('query', args);
  scan: StoreOps['scan'] = (...args) => this.#call('scan', args);
  getCheckpoint: StoreOps['getCheckpoint'] = (...args) => this.#call('getCheckpoint', args);
  listCheckpoints: StoreOps['listCheckpoints'] = (...args) => this.#call('listCheckpoints', args);
  setCheckpoint: StoreTxCore['setCheckpoint'] = (...args) => this.#call('setCheckpoint', args);

  async transaction<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
    const savepoint = this.#open.savepoint();
    let result: T;
    try {
      result = await fn(this as unknown as StoreTx);
    } catch (err) {
      savepoint.rollback();
      throw err;
    }
    savepoint.release();
    return result;
  }
}
