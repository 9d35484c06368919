/**
 * Item and checkpoint operations on one SQLite connection. Every method assumes the caller provides the
 * transaction (a standalone call is wrapped by `Tables`, a `tx` call runs inside `tables.transaction`), so a
 * read-check-write sequence is atomic. Statements are prepared once and reused.
 */
import type Database from 'better-sqlite3';
import { TollstreamError } from '../core/errors.ts';
import { assertCondition, evaluateCondition } from './condition.ts';
import { assertJsonObject, assertJsonValue } from './json.ts';
import { assertKeyPart, assertTableName, decodeCursor, decodeScanCursor, encodeCursor, rangeToBounds, tightenLower, tightenUpper, type Bounds } from './keys.ts';
import { assertPath, readPath, removePath, writePath } from './paths.ts';
import type { Checkpoint, Item, JsonObject, Key, QueryOptions, QueryResult, ScanOptions, TableDescription, UpdateSpec, WriteOptions } from './types.ts';

/** A table as the operations need it: its description plus the integer id its items are stored under. */
export interface StoredTable extends TableDescription {
  readonly id: number;
}

interface ItemRow {
  pk: string;
  sk: string;
  version: number;
  updated_at: number;
  value: string;
}

/** [version, updated_at, value] */
type PointRow = [number, number, string];

interface CheckpointRow {
  consumer: string;
  stream: string;
  shard_id: string;
  sequence_number: string;
  updated_at: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** A stored value larger than this is refused; big documents belong in the warehouse. */
export const MAX_VALUE_BYTES = 400 * 1024;
const SEQUENCE_NUMBER = /^[0-9]{1,128}$/;

export class ItemOps {
  readonly #db: Database.Database;
  readonly #describe: (table: string) => StoredTable;
  readonly #now: () => number;
  readonly #select;
  readonly #insert;
  readonly #replace;
  readonly #delete;
  readonly #getCheckpoint;
  readonly #listCheckpoints;
  readonly #setCheckpoint;
  readonly #queries = new Map<string, Database.Statement<unknown[], ItemRow>>();
  #scanFirst: Database.Statement<[number, number], ItemRow> | undefined;
  #scanAfter: Database.Statement<[number, string, string, number], ItemRow> | undefined;

  constructor(db: Database.Database, describe: (table: string) => StoredTable, now: () => number) {
    this.#db = db;
    this.#describe = describe;
    this.#now = now;
    // Raw rows (arrays) of only the columns not known from the key: the point read is the hot path of update.
    this.#select = db
      .prepare<[number, string, string], PointRow>('SELECT version, updated_at, value FROM ts_items WHERE table_id = ? AND pk = ? AND sk = ?')
      .raw(true);
    this.#insert = db.prepare<[number, string, string, number, number, string]>(
      'INSERT INTO ts_items (table_id, pk, sk, version, updated_at, value) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#replace = db.prepare<[number, number, string, number, string, string]>(
      'UPDATE ts_items SET version = ?, updated_at = ?, value = ? WHERE table_id = ? AND pk = ? AND sk = ?',
    );
    this.#delete = db.prepare<[number, string, string]>('DELETE FROM ts_items WHERE table_id = ? AND pk = ? AND sk = ?');
    this.#getCheckpoint = db.prepare<[string, string, string], CheckpointRow>(
      'SELECT * FROM ts_checkpoints WHERE consumer = ? AND stream = ? AND shard_id = ?',
    );
    this.#listCheckpoints = db.prepare<[string], CheckpointRow>('SELECT * FROM ts_checkpoints WHERE consumer = ? ORDER BY stream, shard_id');
    this.#setCheckpoint = db.prepare<[string, string, string, string, number]>(
      `INSERT INTO ts_checkpoints (consumer, stream, shard_id, sequence_number, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (consumer, stream, shard_id) DO UPDATE SET sequence_number = excluded.sequence_number, updated_at = excluded.updated_at`,
    );
  }

  get<V extends JsonObject>(table: string, key: Key): Item<V> | undefined {
    const { id, sk, sortKey } = this.#locate(table, key);
    const row = this.#select.get(id, key.pk, sk);
    return row ? (pointItem(key, sortKey, row) as Item<V>) : undefined;
  }

  put<V extends JsonObject>(table: string, key: Key, value: V, options: WriteOptions = {}): Item<V> {
    const { id, sk, sortKey } = this.#locate(table, key);
    assertJsonObject(value, 'value');
    const text = encode(value, table, key);
    const row = this.#select.get(id, key.pk, sk);
    this.#check(options, row, sortKey, table, key, 'put');
    const version = (row?.[0] ?? 0) + 1;
    const now = this.#now();
    if (row) this.#replace.run(version, now, text, id, key.pk, sk);
    else this.#insert.run(id, key.pk, sk, version, now, text);
    return makeItem(key, sortKey, value, version, now);
  }

  delete<V extends JsonObject>(table: string, key: Key, options: WriteOptions = {}): Item<V> | undefined {
    const { id, sk, sortKey } = this.#locate(table, key);
    const row = this.#select.get(id, key.pk, sk);
    const current = this.#check(options, row, sortKey, table, key, 'delete');
    if (!row) return undefined;
    this.#delete.run(id, key.pk, sk);
    return (current ?? pointItem(key, sortKey, row)) as Item<V>;
  }

  /**
   * The hot path of counters (the spend ledger runs two per record): it reads the row once, and loops over
   * `Object.keys` with plain `for` loops instead of `Object.entries` pairs and per-call closures.
   */
  update<V extends JsonObject>(table: string, key: Key, spec: UpdateSpec): Item<V> {
    const { id, sk, sortKey } = this.#locate(table, key);
    assertUpdateSpec(spec, table);
    const row = this.#select.get(id, key.pk, sk);
    const current = this.#check(spec, row, sortKey, table, key, 'update');
    const value = (current ? current.value : row ? JSON.parse(row[2]) : {}) as Record<string, unknown>;
    applyUpdate(value, spec, table, key);
    const text = encode(value, table, key);
    const version = (row?.[0] ?? 0) + 1;
    const now = this.#now();
    if (row) this.#replace.run(version, now, text, id, key.pk, sk);
    else this.#insert.run(id, key.pk, sk, version, now, text);
    return makeItem(key, sortKey, value as V, version, now);
  }

  query<V extends JsonObject>(table: string, pk: string, options: QueryOptions = {}): QueryResult<V> {
    const { id, sortKey } = this.#describe(table);
    const { limit, order, bounds } = queryPlan(table, pk, options);
    const params: unknown[] = [id, pk];
    if (bounds.lower) params.push(bounds.lower.value);
    if (bounds.upper) params.push(bounds.upper.value);
    params.push(limit + 1);
    const rows = this.#queryStatement(bounds, order).all(...params);
    const page = rows.slice(0, limit);
    const items = page.map((row) => toItem(row, sortKey, JSON.parse(row.value) as V));
    const lastRow = page[page.length - 1];
    return rows.length > limit && lastRow ? { items, cursor: encodeCursor(table, pk, lastRow.sk) } : { items };
  }

  scan<V extends JsonObject>(table: string, options: ScanOptions = {}): QueryResult<V> {
    const { id, sortKey } = this.#describe(table);
    const limit = pageLimit(options.limit, table);
    const after = options.cursor === undefined ? undefined : decodeScanCursor(options.cursor, table);
    const rows = after
      ? (this.#scanAfter ??= this.#db.prepare<[number, string, string, number], ItemRow>(
          'SELECT pk, sk, version, updated_at, value FROM ts_items WHERE table_id = ? AND (pk, sk) > (?, ?) ORDER BY pk, sk LIMIT ?',
        )).all(id, after.pk, after.sk, limit + 1)
      : (this.#scanFirst ??= this.#db.prepare<[number, number], ItemRow>(
          'SELECT pk, sk, version, updated_at, value FROM ts_items WHERE table_id = ? ORDER BY pk, sk LIMIT ?',
        )).all(id, limit + 1);
    const page = rows.slice(0, limit);
    const items = page.map((row) => toItem(row, sortKey, JSON.parse(row.value) as V));
    const lastRow = page[page.length - 1];
    return rows.length > limit && lastRow ? { items, cursor: encodeCursor(table, lastRow.pk, lastRow.sk) } : { items };
  }

  getCheckpoint(consumer: string, stream: string, shardId: string): Checkpoint | undefined {
    assertCheckpointNames(consumer, stream, shardId);
    const row = this.#getCheckpoint.get(consumer, stream, shardId);
    return row ? toCheckpoint(row) : undefined;
  }

  listCheckpoints(consumer: string): readonly Checkpoint[] {
    assertCheckpointNames(consumer, 'stream', 'shard');
    return this.#listCheckpoints.all(consumer).map(toCheckpoint);
  }

  setCheckpoint(consumer: string, stream: string, shardId: string, sequenceNumber: string): void {
    assertCheckpoint(consumer, stream, shardId, sequenceNumber);
    this.#setCheckpoint.run(consumer, stream, shardId, sequenceNumber, this.#now());
  }

  /** The table's id and the stored sort key ('' in tables without one), after checking the key's shape. */
  #locate(table: string, key: Key): { id: number; sk: string; sortKey: boolean } {
    const { id, sortKey } = this.#describe(table);
    return { id, sk: storedSortKey(table, sortKey, key), sortKey };
  }

  /** Throws CONDITION_FAILED unless the condition holds; returns the parsed current item when it had to read it. */
  #check(options: WriteOptions, row: PointRow | undefined, sortKey: boolean, table: string, key: Key, operation: string): Item | undefined {
    if (options.condition === undefined) return undefined;
    const current = row ? pointItem(key, sortKey, row) : undefined;
    checkCondition(options, current, sortKey, table, key, operation);
    return current;
  }

  #queryStatement(bounds: Bounds, order: 'asc' | 'desc'): Database.Statement<unknown[], ItemRow> {
    const lower = bounds.lower ? (bounds.lower.inclusive ? '>=' : '>') : '';
    const upper = bounds.upper ? (bounds.upper.inclusive ? '<=' : '<') : '';
    const cacheKey = `${lower}|${upper}|${order}`;
    let stmt = this.#queries.get(cacheKey);
    if (!stmt) {
      const where = ['table_id = ?', 'pk = ?'];
      if (lower) where.push(`sk ${lower} ?`);
      if (upper) where.push(`sk ${upper} ?`);
      stmt = this.#db.prepare<unknown[], ItemRow>(
        `SELECT pk, sk, version, updated_at, value FROM ts_items WHERE ${where.join(' AND ')} ORDER BY sk ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`,
      );
      this.#queries.set(cacheKey, stmt);
    }
    return stmt;
  }
}

/** Applies an update's `set`, `add` and `remove` to `value` (a fresh copy, mutated), checking every path. */
export function applyUpdate(value: Record<string, unknown>, spec: UpdateSpec, table: string, key: Key): void {
  const { set, add, remove } = spec;
  if (set) {
    const paths = Object.keys(set);
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const v = set[path];
      assertPath(path, 'set');
      assertJsonValue(v, `set.${path}`);
      writePath(value, path, v);
    }
  }
  if (add) {
    const paths = Object.keys(add);
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      assertPath(path, 'add');
      writePath(value, path, addNumbers(readPath(value as JsonObject, path), add[path], path, table, key));
    }
  }
  if (remove) for (const path of remove) (assertPath(path, 'remove'), removePath(value, path));
}

/** Throws CONDITION_FAILED (with the item's coordinates and version) unless the write's condition holds for `current`. */
export function checkCondition(options: WriteOptions, current: Item | undefined, sortKey: boolean, table: string, key: Key, operation: string): void {
  if (options.condition === undefined) return;
  assertCondition(options.condition);
  if (!evaluateCondition(options.condition, current)) {
    throw new TollstreamError('CONDITION_FAILED', `the condition of this ${operation} does not hold for the current item; re-read it and decide again`, {
      context: { table, pk: key.pk, ...(sortKey ? { sk: key.sk } : {}), operation, condition: options.condition, currentVersion: current?.version ?? null },
    });
  }
}

/** Checks a key against the table's shape; returns the stored sort key ('' in tables without one). */
export function storedSortKey(table: string, sortKey: boolean, key: Key): string {
  if (typeof key !== 'object' || key === null) {
    throw new TollstreamError('INVALID_ARGUMENT', 'key must be an object { pk, sk? }', { context: { table } });
  }
  assertKeyPart(key.pk, 'pk', table);
  if (sortKey) {
    assertKeyPart(key.sk, 'sk', table);
    return key.sk;
  }
  if (key.sk !== undefined) {
    throw new TollstreamError('INVALID_ARGUMENT', `table '${table}' has no sort key; leave sk out of the key`, {
      context: { table, pk: key.pk },
    });
  }
  return '';
}

export function pageLimit(requested: number | undefined, table: string): number {
  const limit = requested ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new TollstreamError('INVALID_ARGUMENT', `limit must be an integer from 1 to ${MAX_LIMIT}`, { context: { table, limit } });
  }
  return limit;
}

/** A query's checked page size, order, and sort key bounds (the cursor included). */
export function queryPlan(table: string, pk: string, options: QueryOptions): { limit: number; order: 'asc' | 'desc'; bounds: Bounds } {
  assertKeyPart(pk, 'pk', table);
  const limit = pageLimit(options.limit, table);
  const order = options.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') {
    throw new TollstreamError('INVALID_ARGUMENT', "order must be 'asc' or 'desc'", { context: { table, order } });
  }
  const bounds = rangeToBounds(options.sk, table);
  if (options.cursor !== undefined) {
    const last = decodeCursor(options.cursor, table, pk);
    if (order === 'asc') tightenLower(bounds, last, false);
    else tightenUpper(bounds, last, false);
  }
  return { limit, order, bounds };
}

export function assertCheckpoint(consumer: string, stream: string, shardId: string, sequenceNumber: string): void {
  assertCheckpointNames(consumer, stream, shardId);
  if (typeof sequenceNumber !== 'string' || !SEQUENCE_NUMBER.test(sequenceNumber)) {
    throw new TollstreamError('INVALID_ARGUMENT', 'sequenceNumber must be a decimal string as returned by the stream log', {
      context: { consumer, stream, shardId, sequenceNumber },
    });
  }
}

/** createTable of a name that exists, without ifNotExists or with another key shape. */
export function tableExists(name: string, existingSortKey: boolean, sortKey: boolean): TollstreamError {
  return new TollstreamError(
    'INVALID_ARGUMENT',
    existingSortKey === sortKey
      ? `table '${name}' already exists; pass ifNotExists to accept it`
      : `table '${name}' already exists with sortKey=${existingSortKey}; pick another name or delete it first`,
    { context: { table: name } },
  );
}

/** A table that does not exist (a malformed name is INVALID_ARGUMENT instead). */
export function tableNotFound(name: string): TollstreamError {
  assertTableName(name);
  return new TollstreamError('NOT_FOUND', `table '${name}' does not exist; create it with createTable('${name}')`, { context: { table: name } });
}

const UPDATE_KEYS = new Set(['add', 'set', 'remove', 'condition']);

/**
 * A typo such as `{ inc: ... }` must fail, not silently write nothing but a new version. Runs on every
 * update, so it builds nothing per call (no closures, no arrays besides `Object.keys`).
 */
export function assertUpdateSpec(spec: UpdateSpec, table: string): void {
  if (typeof spec !== 'object' || spec === null) badSpec('needs a spec { add?, set?, remove?, condition? }', table);
  const keys = Object.keys(spec);
  for (let i = 0; i < keys.length; i++) if (!UPDATE_KEYS.has(keys[i]!)) badSpec(`has unknown key '${keys[i]!}'; use add, set, remove, condition`, table);
  if (!isPathMap(spec.add)) badSpec('.add must be an object of attribute paths', table);
  if (!isPathMap(spec.set)) badSpec('.set must be an object of attribute paths', table);
  if (spec.remove !== undefined && !Array.isArray(spec.remove)) badSpec('.remove must be an array of attribute paths', table);
}

function isPathMap(v: unknown): boolean {
  return v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
}

function badSpec(why: string, table: string): never {
  throw new TollstreamError('INVALID_ARGUMENT', `update ${why}`, { context: { table } });
}

function addNumbers(current: unknown, delta: unknown, path: string, table: string, key: Key): number {
  if (typeof delta !== 'number' || !Number.isFinite(delta)) {
    throw new TollstreamError('INVALID_ARGUMENT', `add.${path} must be a finite number`, { context: { table, pk: key.pk, path } });
  }
  if (current !== undefined && typeof current !== 'number') {
    throw new TollstreamError('INVALID_ARGUMENT', `cannot add to '${path}': it holds a ${current === null ? 'null' : typeof current}, not a number`, {
      context: { table, pk: key.pk, path },
    });
  }
  const sum = (current ?? 0) + delta;
  if (Number.isInteger(sum) && !Number.isSafeInteger(sum)) {
    throw new TollstreamError('INVALID_ARGUMENT', `adding ${delta} to '${path}' gives ${sum}, beyond ±(2^53-1) where integers stop being exact`, {
      context: { table, pk: key.pk, path, current: current ?? 0, delta },
    });
  }
  return sum;
}

export function encode(value: unknown, table: string, key: Key): string {
  const text = JSON.stringify(value);
  // Only measure in bytes when the character count makes it possible to exceed the limit.
  if (text.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(text) > MAX_VALUE_BYTES) {
    throw new TollstreamError('PAYLOAD_TOO_LARGE', `the item is ${Buffer.byteLength(text)} bytes as JSON; the limit is ${MAX_VALUE_BYTES}`, {
      context: { table, pk: key.pk },
    });
  }
  return text;
}

function toItem<V extends JsonObject>(row: ItemRow, sortKey: boolean, value: V): Item<V> {
  return sortKey
    ? { pk: row.pk, sk: row.sk, value, version: row.version, updatedAt: row.updated_at }
    : { pk: row.pk, value, version: row.version, updatedAt: row.updated_at };
}

function pointItem(key: Key, sortKey: boolean, row: PointRow): Item {
  return makeItem(key, sortKey, JSON.parse(row[2]) as JsonObject, row[0], row[1]);
}

export function makeItem<V extends JsonObject>(key: Key, sortKey: boolean, value: V, version: number, updatedAt: number): Item<V> {
  return sortKey ? { pk: key.pk, sk: key.sk as string, value, version, updatedAt } : { pk: key.pk, value, version, updatedAt };
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { consumer: row.consumer, stream: row.stream, shardId: row.shard_id, sequenceNumber: row.sequence_number, updatedAt: row.updated_at };
}

export function assertCheckpointNames(consumer: unknown, stream: unknown, shardId: unknown): void {
  for (const [name, v] of [['consumer', consumer], ['stream', stream], ['shardId', shardId]] as const) {
    if (typeof v !== 'string' || v.length === 0 || v.length > 256) {
      throw new TollstreamError('INVALID_ARGUMENT', `${name} must be a non-empty string of at most 256 characters`, { context: { [name]: v } });
    }
  }
}
