/**
 * `openPostgresTables`: the asynchronous tables door (`TableStore`) on PostgreSQL, for nodes that share their
 * state. One schema per store; every transaction is SERIALIZABLE, so it behaves as if it ran alone, as on
 * SQLite, and one that meets a concurrent one is run again from the start (a bounded number of times).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { redactUrl } from '../core/connection-url.ts';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { migratePostgresTables } from './postgres-schema.ts';
import { driverError, isConflict, PostgresTx, type PostgresTxDecoration } from './postgres-tx.ts';
import { assertOutsideTransaction, withinTransaction } from './store.ts';
import type { StoreOps, StoreTx, TableStore } from './types.ts';

export type { PostgresTxDecoration, PostgresTxHandle } from './postgres-tx.ts';

export interface PostgresTablesOptions {
  /** `postgres://user:password@host:port/database`; the role must own the schema or be allowed to create it. */
  readonly connectionString: string;
  /** The schema holding this store's tables; created when missing. Lower-case letters, digits and `_`. @default 'tollstream' */
  readonly schema?: string;
  /** Most connections of this store; each running transaction holds one. @default 8 */
  readonly maxConnections?: number;
  /** Runs of a transaction that keeps meeting concurrent ones before it fails with TABLES_CONFLICT. @default 40 */
  readonly maxAttempts?: number;
  readonly logger?: Logger;
  /** The clock stamped on items and checkpoints, in ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** What sibling components (the notification outbox) reach: see `postgresTablesInternals`. */
export interface PostgresTablesInternals {
  readonly pool: pg.Pool;
  /** For a connection of its own outside the pool (LISTEN). */
  readonly connectionString: string;
  readonly schema: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Adds a method to every transaction handle; it runs its SQL through the handle it is given. */
  decorate(name: string, method: PostgresTxDecoration): void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const internals = new WeakMap<TableStore, PostgresTablesInternals>();

export function postgresTablesInternals(store: TableStore): PostgresTablesInternals {
  const found = internals.get(store);
  if (!found) throw new TollstreamError('INVALID_ARGUMENT', 'expected a TableStore returned by openPostgresTables()');
  return found;
}

export async function openPostgresTables(options: PostgresTablesOptions): Promise<TableStore> {
  const schema = options.schema ?? 'tollstream';
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new TollstreamError('CONFIG_INVALID', `the tables schema '${schema}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema } });
  }
  const url = redactUrl(options.connectionString);
  const logger = (options.logger ?? silentLogger).child({ component: 'tables', backend: 'postgres', schema });
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 8,
    options: `-c search_path=${schema}`,
    // Names the connections in pg_stat_activity, for operators.
    application_name: `tollstream-tables:${schema}`,
  });
  // A dropped connection emits 'error' on its client, idle or checked out; the statement in flight fails on its
  // own (and the client is discarded), so the event itself must not crash the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    try {
      const encoding = (await client.query<{ server_encoding: string }>('SHOW server_encoding')).rows[0]?.server_encoding;
      if (encoding !== 'UTF8') {
        throw new TollstreamError('CONFIG_INVALID', `the database at ${url} uses encoding ${encoding}; tables need a UTF8 database (keys compare by their UTF-8 bytes)`, { context: { url, encoding } });
      }
      await migratePostgresTables(client, schema);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof TollstreamError) throw err;
    throw new TollstreamError('TABLES_UNAVAILABLE', `cannot open the tables in schema ${schema} at ${url}: ${(err as Error).message}; check that the server runs and the URL, user and password`, {
      context: { url, schema },
      cause: err,
    });
  }
  const store = new PostgresTableStore(pool, options.connectionString, url, schema, logger, options.now ?? Date.now, options.maxAttempts ?? 40);
  internals.set(store, store.internals);
  logger.info('tables opened', { url });
  return store;
}


class PostgresTableStore implements TableStore {
  readonly backend = 'postgres';
  readonly #pool: pg.Pool;
  /** The server's URL without its password, for messages. */
  readonly url: string;
  readonly #maxAttempts: number;
  readonly #decorations = new Map<string, PostgresTxDecoration>();
  #closed = false;
  readonly internals: PostgresTablesInternals;

  constructor(pool: pg.Pool, connectionString: string, url: string, schema: string, logger: Logger, readonly now: () => number, maxAttempts: number) {
    this.#pool = pool;
    this.url = url;
    this.#maxAttempts = maxAttempts;
    this.internals = {
      pool,
      connectionString,
      schema,
      logger,
      now,
      decorate: (name, method) => {
        if (name in TX_METHODS || this.#decorations.has(name)) {
          throw new TollstreamError('INVALID_ARGUMENT', `transactions already have a method '${name}'`, { context: { name } });
        }
        this.#decorations.set(name, method);
      },
    };
  }

  createTable: TableStore['createTable'] = (name, options = {}) => this.#catalog((tx) => tx.createTable(name, options.sortKey ?? false, options.ifNotExists ?? false));
  deleteTable: TableStore['deleteTable'] = (name) => this.#catalog((tx) => tx.deleteTable(name));
  listTables: TableStore['listTables'] = () => this.#catalog((tx) => tx.listTables());
  describeTable: TableStore['describeTable'] = (name) => this.#catalog((tx) => tx.describe(name));
  deleteCheckpoints: TableStore['deleteCheckpoints'] = (consumer) =>
    this.#catalog((tx) => tx.sql('DELETE FROM ts_checkpoints WHERE consumer = $1', [consumer]).then((r) => r.rowCount ?? 0));

  get: StoreOps['get'] = (table, key) => this.transaction((tx) => tx.get(table, key));
  query: StoreOps['query'] = (table, pk, options) => this.transaction((tx) => tx.query(table, pk, options));
  scan: StoreOps['scan'] = (table, options) => this.transaction((tx) => tx.scan(table, options));
  getCheckpoint: StoreOps['getCheckpoint'] = (c, s, sh) => this.transaction((tx) => tx.getCheckpoint(c, s, sh));
  listCheckpoints: StoreOps['listCheckpoints'] = (c) => this.transaction((tx) => tx.listCheckpoints(c));
  put: StoreOps['put'] = (table, key, value, options) => this.transaction((tx) => tx.put(table, key, value, options));
  delete: StoreOps['delete'] = (table, key, options) => this.transaction((tx) => tx.delete(table, key, options));
  update: StoreOps['update'] = (table, key, spec) => this.transaction((tx) => tx.update(table, key, spec));

  #catalog<T>(fn: (tx: PostgresTx) => Promise<T>): Promise<T> {
    return this.transaction((tx) => fn(tx as unknown as PostgresTx));
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
    assertOutsideTransaction(this, 'transaction');
    if (this.#closed) throw new TollstreamError('INTERNAL', 'the tables store is closed; open it again with openPostgresTables()');
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw driverError(err, this.url);
    }
    let broken = false;
    try {
      for (let attempt = 1; ; attempt++) {
        const tx = new PostgresTx(client, this, this.#decorations);
        let result: T;
        try {
          await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE').catch((err: unknown) => Promise.reject(driverError(err, this.url)));
          result = await withinTransaction(this, async () => fn(tx as unknown as StoreTx));
          // Operations the function started but did not wait for belong to the transaction too.
          await tx.settle();
          if (tx.conflict !== undefined) throw tx.conflict;
          await client.query('COMMIT').catch((err: unknown) => Promise.reject(isConflict(err) ? err : driverError(err, this.url)));
        } catch (err) {
          tx.end();
          const conflict = tx.conflict ?? (isConflict(err) ? err : undefined);
          try {
            await client.query('ROLLBACK');
          } catch {
            broken = true;
            throw conflict !== undefined ? driverError(conflict, this.url) : err;
          }
          // The function's own error is rethrown as it was; the driver's arrive here mapped already.
          if (conflict === undefined) throw err;
          if (attempt >= this.#maxAttempts) {
            throw new TollstreamError('TABLES_CONFLICT', `a tables transaction met concurrent ones on all its ${attempt} attempts; retry it later`, {
              context: { attempts: attempt },
              cause: conflict,
            });
          }
          // Backing off with jitter keeps the transactions that collided from colliding again in step.
          await sleep(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
          continue;
        }
        tx.end();
        tx.committed(this.internals.logger);
        return result;
      }
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
    this.internals.logger.info('tables closed');
  }
}

const TX_METHODS = { get: 1, put: 1, delete: 1, update: 1, query: 1, scan: 1, getCheckpoint: 1, listCheckpoints: 1, setCheckpoint: 1, transaction: 1 } as const;
