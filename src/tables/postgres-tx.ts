/**
 * The transaction handle of tables on PostgreSQL (see `postgres.ts`): one connection inside BEGIN ... COMMIT,
 * its operations one after another, items read once and writes sent in batches.
 */
import type pg from 'pg';
import { TollstreamError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { assertJsonObject } from './json.ts';
import { assertTableName, encodeCursor, decodeScanCursor, type Bounds } from './keys.ts';
import {
  applyUpdate,
  assertCheckpoint,
  assertCheckpointNames,
  assertUpdateSpec,
  checkCondition,
  encode,
  makeItem,
  pageLimit,
  queryPlan,
  storedSortKey,
  tableExists,
  tableNotFound,
  type StoredTable,
} from './ops.ts';
import { endedTransaction, SerialQueue } from './store.ts';
import type { Checkpoint, Item, JsonObject, Key, StoreOps, StoreTx, StoreTxCore, TableDescription } from './types.ts';

/** The part of a running transaction a decoration may use. */
export interface PostgresTxHandle {
  /** Runs one statement in the transaction, after the transaction's earlier statements. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `fn` once the transaction has committed (never if it rolls back or runs again). */
  afterCommit(fn: () => void): void;
}

export type PostgresTxDecoration = (tx: PostgresTxHandle, ...args: never[]) => Promise<unknown>;

/** SQLSTATEs after which the transaction is run again: serialization failure, deadlock, a concurrent insert of the same key. */
const CONFLICT_CODES: ReadonlySet<string> = new Set(['40001', '40P01', '23505']);

interface PointRow {
  version: string;
  updated_at: string;
  value: JsonObject;
}

interface ItemRow extends PointRow {
  pk: string;
  sk: string;
}

interface CheckpointRow {
  consumer: string;
  stream: string;
  shard_id: string;
  sequence_number: string;
  updated_at: string;
}

/** What a transaction needs of its store. */
export interface TxOwner {
  readonly now: () => number;
  /** The server, without its password, for messages. */
  readonly url: string;
}

/** An item as this transaction knows it: read once, then changed in memory and sent in one batch (see flush). */
interface CachedItem {
  readonly stored: StoredTable;
  readonly key: Key;
  readonly sk: string;
  /** The item as it is in this transaction; undefined when absent. */
  current: Item | undefined;
  /** The row exists in the database as this transaction last sent or read it. */
  inDatabase: boolean;
  /** `current` differs from what was sent: a write or delete waits for the next flush. */
  pending: boolean;
}

/**
 * `tx` of the PostgreSQL door: one connection inside BEGIN ... COMMIT. Its operations run one at a time, in call
 * order, also when the function does not await each. An item is read at most once per transaction; writes are kept
 * in memory and sent as a few multi-row statements before a query or scan reads the table, before a savepoint,
 * and before COMMIT, so a read-modify-write costs one round trip rather than two.
 */
export class PostgresTx implements StoreTxCore {
  #client: pg.PoolClient | undefined;
  readonly #store: TxOwner;
  readonly #queue = new SerialQueue();
  /** Tables resolved in this transaction (resolved once each, inside it, so a concurrent delete is a conflict). */
  readonly #tables = new Map<string, StoredTable>();
  readonly #items = new Map<string, CachedItem>();
  readonly #afterCommit: (() => void)[] = [];
  #savepoints = 0;
  /** The first serialization failure met: the transaction cannot commit and runs again. */
  conflict: unknown;

  constructor(client: pg.PoolClient, store: TxOwner, decorations: ReadonlyMap<string, PostgresTxDecoration>) {
    this.#client = client;
    this.#store = store;
    const handle: PostgresTxHandle = {
      query: (text, values) => this.#sql(text, values),
      afterCommit: (fn) => void this.#afterCommit.push(fn),
    };
    for (const [name, method] of decorations) {
      Object.defineProperty(this, name, { value: (...args: never[]) => this.#op(() => method(handle, ...args)), enumerable: false });
    }
  }

  end(): void {
    this.#client = undefined;
  }

  /** Waits for the operations the function started, then sends the writes still in memory. */
  async settle(): Promise<void> {
    await this.#queue.drain();
    await this.#op(() => this.#flush());
  }

  committed(logger: Logger): void {
    for (const fn of this.#afterCommit) {
      try {
        fn();
      } catch (err) {
        logger.error('a callback of a sibling component failed', { err });
      }
    }
  }

  /** One operation, after the ones called before it. */
  #op<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(() => {
      if (!this.#client) throw endedTransaction();
      return fn();
    });
  }

  /** `name`: for statements run often, so each connection parses and plans them once. */
  async #sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<pg.QueryResult<R>> {
    const client = this.#client;
    if (!client) throw endedTransaction();
    try {
      return await client.query<R>(name === undefined ? { text, values } : { name, text, values });
    } catch (err) {
      if (!isConflict(err)) throw driverError(err, this.#store.url);
      this.conflict ??= err;
      throw new TollstreamError('TABLES_CONFLICT', 'this transaction met a concurrent one; it is rolled back and run again', { cause: err });
    }
  }

  async #resolve(name: string): Promise<StoredTable> {
    const known = this.#tables.get(name);
    if (known) return known;
    const row = (await this.#sql<{ id: string; sort_key: boolean; created_at: string }>('SELECT id, sort_key, created_at FROM ts_tables WHERE name = $1', [name], 'ts_resolve')).rows[0];
    if (!row) throw tableNotFound(name);
    const table: StoredTable = { id: Number(row.id), name, sortKey: row.sort_key, createdAt: Number(row.created_at) };
    this.#tables.set(name, table);
    return table;
  }

  describe = (name: string): Promise<TableDescription> => this.#op(async () => describe(await this.#resolve(name)));

  sql = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> => this.#op(() => this.#sql<R>(text, values));

  createTable = (name: string, sortKey: boolean, ifNotExists: boolean): Promise<TableDescription> =>
    this.#op(async () => {
      assertTableName(name);
      const existing = await this.#resolve(name).catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 'NOT_FOUND') return undefined;
        throw err;
      });
      if (existing) {
        if (ifNotExists && existing.sortKey === sortKey) return describe(existing);
        throw tableExists(name, existing.sortKey, sortKey);
      }
      const createdAt = this.#store.now();
      await this.#sql('INSERT INTO ts_tables (name, sort_key, created_at) VALUES ($1, $2, $3)', [name, sortKey, createdAt]);
      return { name, sortKey, createdAt };
    });

  deleteTable = (name: string): Promise<void> =>
    this.#op(async () => {
      const { id } = await this.#resolve(name);
      await this.#sql('DELETE FROM ts_items WHERE table_id = $1', [id]);
      await this.#sql('DELETE FROM ts_tables WHERE id = $1', [id]);
    });

  listTables = (): Promise<readonly TableDescription[]> =>
    this.#op(async () => {
      const rows = (await this.#sql<{ name: string; sort_key: boolean; created_at: string }>('SELECT name, sort_key, created_at FROM ts_tables ORDER BY name')).rows;
      return rows.map((r) => ({ name: r.name, sortKey: r.sort_key, createdAt: Number(r.created_at) }));
    });

  /** The item of `key` as this transaction knows it, read from the database the first time. */
  async #point(table: string, key: Key, before?: (stored: StoredTable) => void): Promise<CachedItem> {
    const stored = await this.#resolve(table);
    const sk = storedSortKey(table, stored.sortKey, key);
    refuseNul(table, key.pk, sk);
    before?.(stored);
    // U+0000 is refused above, so it cannot occur inside the parts it separates.
    const id = `${stored.id}\u0000${key.pk}\u0000${sk}`;
    let cached = this.#items.get(id);
    if (!cached) {
      const row = (await this.#sql<PointRow>('SELECT version, updated_at, value FROM ts_items WHERE table_id = $1 AND pk = $2 AND sk = $3', [stored.id, key.pk, sk], 'ts_point')).rows[0];
      const current = row ? makeItem(key, stored.sortKey, row.value, Number(row.version), Number(row.updated_at)) : undefined;
      cached = { stored, key: stored.sortKey ? { pk: key.pk, sk } : { pk: key.pk }, sk, current, inDatabase: row !== undefined, pending: false };
      this.#items.set(id, cached);
    }
    return cached;
  }

  #write(cached: CachedItem, value: JsonObject, table: string): Item<never> {
    const text = encodeForPostgres(value, table, cached.key);
    const version = (cached.current?.version ?? 0) + 1;
    // The stored item is what JSON gives back, as a read would return it.
    cached.current = makeItem(cached.key, cached.stored.sortKey, JSON.parse(text) as JsonObject, version, this.#store.now());
    cached.pending = true;
    return makeItem(cached.key, cached.stored.sortKey, value as never, version, cached.current.updatedAt);
  }

  /** Sends the writes kept in memory: one INSERT, one UPDATE and one DELETE at most. */
  async #flush(): Promise<void> {
    const inserts: CachedItem[] = [];
    const updates: CachedItem[] = [];
    const deletes: CachedItem[] = [];
    for (const cached of this.#items.values()) {
      if (!cached.pending) continue;
      if (cached.current) (cached.inDatabase ? updates : inserts).push(cached);
      else if (cached.inDatabase) deletes.push(cached);
    }
    const columns = (list: CachedItem[]) => [
      list.map((c) => c.stored.id),
      list.map((c) => c.key.pk),
      list.map((c) => c.sk),
      list.map((c) => c.current!.version),
      list.map((c) => c.current!.updatedAt),
      list.map((c) => JSON.stringify(c.current!.value)),
    ];
    const rows = 'unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[]) AS x(t, p, s, v, u, j)';
    if (inserts.length > 0) await this.#sql(`INSERT INTO ts_items (table_id, pk, sk, version, updated_at, value) SELECT t, p, s, v, u, j::jsonb FROM ${rows}`, columns(inserts), 'ts_insert');
    if (updates.length > 0) {
      await this.#sql(`UPDATE ts_items AS i SET version = x.v, updated_at = x.u, value = x.j::jsonb FROM ${rows} WHERE i.table_id = x.t AND i.pk = x.p AND i.sk = x.s`, columns(updates), 'ts_update');
    }
    if (deletes.length > 0) {
      await this.#sql('DELETE FROM ts_items AS i USING unnest($1::bigint[], $2::text[], $3::text[]) AS x(t, p, s) WHERE i.table_id = x.t AND i.pk = x.p AND i.sk = x.s', [
        deletes.map((c) => c.stored.id),
        deletes.map((c) => c.key.pk),
        deletes.map((c) => c.sk),
      ]);
    }
    for (const list of [inserts, updates, deletes]) {
      for (const cached of list) {
        cached.inDatabase = cached.current !== undefined;
        cached.pending = false;
      }
    }
    for (const cached of this.#items.values()) cached.pending = false;
  }

  // Copies: a caller changing what it got must not change what this transaction knows.
  get: StoreOps['get'] = (table, key) => this.#op(async () => structuredClone((await this.#point(table, key)).current) as never);

  put: StoreOps['put'] = (table, key, value, options = {}) =>
    this.#op(async () => {
      const cached = await this.#point(table, key, () => assertJsonObject(value, 'value'));
      checkCondition(options, cached.current, cached.stored.sortKey, table, key, 'put');
      return this.#write(cached, value, table);
    });

  delete: StoreOps['delete'] = (table, key, options = {}) =>
    this.#op(async () => {
      const cached = await this.#point(table, key);
      const current = cached.current;
      checkCondition(options, current, cached.stored.sortKey, table, key, 'delete');
      if (!current) return undefined;
      cached.current = undefined;
      cached.pending = true;
      return structuredClone(current) as never;
    });

  update: StoreOps['update'] = (table, key, spec) =>
    this.#op(async () => {
      const cached = await this.#point(table, key, () => assertUpdateSpec(spec, table));
      checkCondition(spec, cached.current, cached.stored.sortKey, table, key, 'update');
      // A copy: the cached item must not change if the update is refused half way.
      const value = (cached.current ? structuredClone(cached.current.value) : {}) as Record<string, unknown>;
      applyUpdate(value, spec, table, key);
      return this.#write(cached, value as JsonObject, table);
    });

  query: StoreOps['query'] = (table, pk, options = {}) =>
    this.#op(async () => {
      const stored = await this.#resolve(table);
      const { limit, order, bounds } = queryPlan(table, pk, options);
      refuseNul(table, pk, bounds.lower?.value ?? '', bounds.upper?.value ?? '');
      await this.#flush();
      const params: unknown[] = [stored.id, pk];
      const where = ['table_id = $1', 'pk = $2'];
      for (const [bound, below] of [[bounds.lower, false], [bounds.upper, true]] as [Bounds['lower'], boolean][]) {
        if (!bound) continue;
        params.push(bound.value);
        where.push(`sk ${below ? '<' : '>'}${bound.inclusive ? '=' : ''} $${params.length}`);
      }
      params.push(limit + 1);
      const rows = (await this.#sql<ItemRow>(`SELECT pk, sk, version, updated_at, value FROM ts_items WHERE ${where.join(' AND ')} ORDER BY sk ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT $${params.length}`, params)).rows;
      return page(rows, limit, stored.sortKey, (last) => encodeCursor(table, pk, last.sk)) as never;
    });

  scan: StoreOps['scan'] = (table, options = {}) =>
    this.#op(async () => {
      const stored = await this.#resolve(table);
      const limit = pageLimit(options.limit, table);
      const after = options.cursor === undefined ? undefined : decodeScanCursor(options.cursor, table);
      await this.#flush();
      const rows = after
        ? (await this.#sql<ItemRow>('SELECT pk, sk, version, updated_at, value FROM ts_items WHERE table_id = $1 AND (pk, sk) > ($2, $3) ORDER BY pk, sk LIMIT $4', [stored.id, after.pk, after.sk, limit + 1])).rows
        : (await this.#sql<ItemRow>('SELECT pk, sk, version, updated_at, value FROM ts_items WHERE table_id = $1 ORDER BY pk, sk LIMIT $2', [stored.id, limit + 1])).rows;
      return page(rows, limit, stored.sortKey, (last) => encodeCursor(table, last.pk, last.sk)) as never;
    });

  getCheckpoint: StoreOps['getCheckpoint'] = (consumer, stream, shardId) =>
    this.#op(async () => {
      assertCheckpointNames(consumer, stream, shardId);
      refuseNul('checkpoints', consumer, stream, shardId);
      const row = (await this.#sql<CheckpointRow>('SELECT * FROM ts_checkpoints WHERE consumer = $1 AND stream = $2 AND shard_id = $3', [consumer, stream, shardId], 'ts_checkpoint')).rows[0];
      return row ? toCheckpoint(row) : undefined;
    });

  listCheckpoints: StoreOps['listCheckpoints'] = (consumer) =>
    this.#op(async () => {
      assertCheckpointNames(consumer, 'stream', 'shard');
      refuseNul('checkpoints', consumer);
      return (await this.#sql<CheckpointRow>('SELECT * FROM ts_checkpoints WHERE consumer = $1 ORDER BY stream, shard_id', [consumer])).rows.map(toCheckpoint);
    });

  setCheckpoint: StoreTxCore['setCheckpoint'] = (consumer, stream, shardId, sequenceNumber) =>
    this.#op(async () => {
      assertCheckpoint(consumer, stream, shardId, sequenceNumber);
      refuseNul('checkpoints', consumer, stream, shardId);
      await this.#sql(
        `INSERT INTO ts_checkpoints (consumer, stream, shard_id, sequence_number, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (consumer, stream, shard_id) DO UPDATE SET sequence_number = excluded.sequence_number, updated_at = excluded.updated_at`,
        [consumer, stream, shardId, sequenceNumber, this.#store.now()],
        'ts_set_checkpoint',
      );
    });

  async transaction<T>(fn: (tx: StoreTx) => Promise<T> | T): Promise<T> {
    const name = `ts_savepoint_${++this.#savepoints}`;
    // Writes before the savepoint are sent first, so that rolling back to it undoes exactly the writes after it.
    await this.#op(async () => {
      await this.#flush();
      await this.#sql(`SAVEPOINT ${name}`);
    });
    let result: T;
    try {
      result = await fn(this as unknown as StoreTx);
    } catch (err) {
      // After a conflict the whole transaction is rolled back and run again; the savepoint is moot.
      if (this.conflict === undefined && this.#client) {
        await this.#op(async () => {
          await this.#sql(`ROLLBACK TO SAVEPOINT ${name}`);
          await this.#sql(`RELEASE SAVEPOINT ${name}`);
          // What this transaction knew of items may include writes just undone: read them again.
          this.#items.clear();
        });
      }
      throw err;
    }
    await this.sql(`RELEASE SAVEPOINT ${name}`);
    return result;
  }
}

function page(rows: ItemRow[], limit: number, sortKey: boolean, cursorOf: (last: ItemRow) => string): { items: Item[]; cursor?: string } {
  const kept = rows.slice(0, limit);
  const items = kept.map((r) => makeItem({ pk: r.pk, sk: r.sk }, sortKey, r.value, Number(r.version), Number(r.updated_at)));
  const last = kept[kept.length - 1];
  return rows.length > limit && last ? { items, cursor: cursorOf(last) } : { items };
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { consumer: row.consumer, stream: row.stream, shardId: row.shard_id, sequenceNumber: row.sequence_number, updatedAt: Number(row.updated_at) };
}

function describe(table: StoredTable): TableDescription {
  return { name: table.name, sortKey: table.sortKey, createdAt: table.createdAt };
}

/**
 * An error of the driver as a TollstreamError: a lost or refused connection (no SQLSTATE, or classes 08, 53, 57)
 * is TABLES_UNAVAILABLE, and after one during COMMIT the commit may or may not have happened (a function's
 * checkpoint settles it on redelivery); any other refused statement is INTERNAL (statements are built here).
 */
export function driverError(err: unknown, url: string): TollstreamError {
  if (err instanceof TollstreamError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|53|57)/.test(code)) {
    return new TollstreamError('INTERNAL', `the tables database refused a statement: ${message}`, { context: { sqlState: code }, cause: err });
  }
  return new TollstreamError('TABLES_UNAVAILABLE', `the tables database at ${url} failed: ${message}; retry`, { context: { url }, cause: err });
}

export function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONFLICT_CODES.has(code)) return true;
  return err instanceof TollstreamError && err.code === 'TABLES_CONFLICT';
}

/** PostgreSQL text cannot hold U+0000 (SQLite can): refused up front, so no statement fails and aborts the transaction. */
function refuseNul(table: string, ...parts: string[]): void {
  for (const part of parts) {
    if (part.includes('\u0000')) {
      throw new TollstreamError('INVALID_ARGUMENT', 'keys and names cannot hold the character U+0000 in tables on PostgreSQL', { context: { table } });
    }
  }
}

/** The JSON text of a value, refusing U+0000 in its strings, which JSONB cannot hold. */
function encodeForPostgres(value: JsonObject, table: string, key: Key): string {
  const text = encode(value, table, key);
  for (let at = text.indexOf('\\u0000'); at !== -1; at = text.indexOf('\\u0000', at + 1)) {
    let backslashes = 0;
    while (text[at - 1 - backslashes] === '\\') backslashes++;
    // `\u0000` is an escape only after an even number of backslashes (an odd one escapes the backslash itself).
    if (backslashes % 2 === 0) {
      throw new TollstreamError('INVALID_ARGUMENT', 'values cannot hold the character U+0000 in tables on PostgreSQL (JSONB refuses it)', { context: { table, pk: key.pk } });
    }
  }
  return text;
}
