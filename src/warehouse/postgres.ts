/**
 * The PostgreSQL warehouse: the same tables as DuckDB in one schema, rows loaded with COPY FROM STDIN (CSV)
 * inside the transaction that also stores the error records and moves the positions, and every query in a
 * READ ONLY transaction on a pool of its own (optionally as a role that may only SELECT).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { checkBatchPositions } from './positions.ts';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { csvLines } from './copy-csv.ts';
import { bindValue, isServerError, message, placeholderFor, queryError, redact, TYPE_NAMES, typeParsers, writeError } from './postgres-mapping.ts';
import { addColumnSql, createTableSql, POSTGRES_COLUMN_TYPES, POSTGRES_DIALECT, quoteIdentifier } from './dialect.ts';
import { checkReadStatement, toPositional } from './sql-text.ts';
import { ADDED_COLUMNS, DELIVERY_ERRORS, DELIVERY_POSITIONS, TABLES, deliveryErrorRows, knownTable, warehouseTables } from './tables.ts';
import { DELIVERY_ERROR_COLUMNS, deliveryErrorFilter, redriveConflict, storedDeliveryError } from './delivery-errors.ts';
import { collectRows, DEFAULT_MAX_RESULT_ROWS, DEFAULT_QUERY_TIMEOUT_MS, watchQuery, type QueryWatch } from './query-limits.ts';
import { toQueryValue } from './values.ts';
import type { DeliveryErrorQuery, DeliveryErrorRedrive, StoredDeliveryError, Freshness, LoadBatch, QueryOptions, QueryParams, QueryResult, QuerySink, Row, TableSchema, Warehouse } from './types.ts';

export interface PostgresWarehouseOptions {
  /** `postgres://user:password@host:port/database`: the role that owns (or may create) the warehouse tables. */
  readonly connectionString: string;
  /** The schema holding the tables; created when missing. Lower-case letters, digits and `_`. @default 'public' */
  readonly schema?: string;
  /**
   * Where queries and reports connect, e.g. as a role granted only USAGE on the schema and SELECT on its
   * tables. Every query runs in a READ ONLY transaction either way; a role without write privileges (and not
   * a superuser) also keeps server functions such as `pg_read_file` out of reach. @default `connectionString`
   */
  readonly queryConnectionString?: string;
  /** Most connections used by concurrent queries. @default 4 */
  readonly maxQueryConnections?: number;
  /**
   * A query running longer, fetching its rows included, is cancelled (`WAREHOUSE_QUERY_TIMEOUT`), in
   * milliseconds. @default 60000
   */
  readonly statementTimeoutMs?: number;
  /** Most rows `query` returns (`streamQuery` is not capped). @default 100000 */
  readonly maxResultRows?: number;
  /** The clock, in ms since the epoch (for freshness and `loaded_at`). @default Date.now */
  readonly now?: () => number;
}

const CHUNK_BYTES = 256 * 1024;
/** Rows per FETCH of a query's cursor: what one chunk of a streamed answer holds. */
const FETCH_ROWS = 2000;

export async function openPostgresWarehouse(options: PostgresWarehouseOptions): Promise<Warehouse> {
  const schema = options.schema ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema) || schema.startsWith('pg_')) {
    throw new TollstreamError('CONFIG_INVALID', `the warehouse schema '${schema}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema } });
  }
  const session = `-c search_path=${schema} -c TimeZone=UTC`;
  const writer = new pg.Pool({ connectionString: options.connectionString, max: 1, options: session, types: typeParsers });
  const readers = new pg.Pool({
    connectionString: options.queryConnectionString ?? options.connectionString,
    max: options.maxQueryConnections ?? 4,
    options: session,
    types: typeParsers,
  });
  // A connection the server (or the network) drops emits 'error' on its client, idle or checked out. The pool
  // drops idle ones, `withClient` discards checked-out ones and the query in flight fails on its own; the event
  // itself must not crash the process.
  for (const pool of [writer, readers]) {
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));
  }
  const limits = { maxRows: options.maxResultRows ?? DEFAULT_MAX_RESULT_ROWS, timeoutMs: options.statementTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS };
  const warehouse = new PostgresWarehouse(writer, readers, schema, limits, options.now ?? Date.now);
  try {
    const client = await writer.connect();
    client.release();
  } catch (err) {
    await warehouse.close();
    throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `cannot connect to the PostgreSQL warehouse at ${redact(options.connectionString)}: ${message(err)}; check that the server runs and the URL, user and password`, {
      context: { url: redact(options.connectionString) },
      cause: err,
    });
  }
  return warehouse;
}

class PostgresWarehouse implements Warehouse {
  readonly dialect = POSTGRES_DIALECT;
  private closed = false;
  private tables: readonly TableSchema[] = TABLES;
  /**
   * Batches whose COMMIT went out but whose answer was lost with the connection, by (stream, table): the
   * transaction id and the batch's positions. The retry of such a batch asks the server how it ended.
   */
  private readonly unsettled = new Map<string, { readonly xid: string; readonly positions: string }>();

  constructor(
    private readonly writer: pg.Pool,
    private readonly readers: pg.Pool,
    private readonly schema: string,
    private readonly limits: { readonly maxRows: number; readonly timeoutMs: number },
    private readonly now: () => number,
  ) {}

  async ensureSchema(extra: readonly TableSchema[] = []): Promise<void> {
    const tables = warehouseTables(extra);
    await this.transaction(async (client) => {
      // Two servers starting at once on one database would race on CREATE ... IF NOT EXISTS.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:schema:${this.schema}`]);
      // Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS, which a role
      // that merely owns its schema does not have.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteIdentifier(this.schema)}`);
      for (const table of tables) await client.query(createTableSql(table, POSTGRES_COLUMN_TYPES, this.schema));
      for (const { table, column } of ADDED_COLUMNS) {
        // Only when missing: ALTER TABLE takes the table's exclusive lock even when the column is there, and would
        // wait behind every query reading it.
        const has = await client.query('SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3', [this.schema, table.name, column]);
        if (has.rowCount === 0) await client.query(addColumnSql(table, column, POSTGRES_COLUMN_TYPES, this.schema));
      }
    });
    this.tables = tables;
  }

  tableSchema(name: string): TableSchema | undefined {
    return this.tables.find((t) => t.name === name);
  }

  async loadBatch(batch: LoadBatch): Promise<void> {
    const schema = knownTable(this.tables, batch.table);
    // Checked and encoded before the transaction opens: a refused value costs no round trip.
    const rows = batch.rows.length > 0 ? [...csvLines(schema, batch.rows, CHUNK_BYTES)] : [];
    const failedAt = this.now();
    const errors = batch.errors && batch.errors.length > 0 ? [...csvLines(DELIVERY_ERRORS, deliveryErrorRows(batch, failedAt), CHUNK_BYTES)] : [];
    const pair = `${batch.source.stream}\u0000${batch.table}`;
    const positionsKey = JSON.stringify(Object.entries(batch.source.positions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    if (await this.alreadyCommitted(pair, positionsKey)) return;
    let xid: string | undefined;
    const commitLost = () => {
      if (xid !== undefined) this.unsettled.set(pair, { xid, positions: positionsKey });
    };
    await this.transaction(async (client) => {
      xid = (await client.query<{ xid: string }>('SELECT txid_current()::text AS xid')).rows[0]?.xid;
      // One writer per (stream, table) at a time, across processes: the position check below is then sound.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:delivery:${batch.source.stream}:${batch.table}`]);
      const stored = await readPositions(client, batch.source.stream, batch.table);
      checkBatchPositions(batch, stored);
      if (rows.length > 0) await copyInto(client, schema, rows);
      if (errors.length > 0) await copyInto(client, DELIVERY_ERRORS, errors);
      const newest = newestArrivalByShard(batch.rows);
      for (const [shardId, sequenceNumber] of Object.entries(batch.source.positions)) {
        const arrival = newest.get(shardId);
        await client.query(
          `INSERT INTO ${quoteIdentifier(DELIVERY_POSITIONS.name)} (stream, table_name, shard_id, sequence_number, newest_arrival_time, loaded_at)
           VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz)
           ON CONFLICT (stream, table_name, shard_id) DO UPDATE SET
             sequence_number = excluded.sequence_number,
             newest_arrival_time = greatest(${quoteIdentifier(DELIVERY_POSITIONS.name)}.newest_arrival_time, excluded.newest_arrival_time),
             loaded_at = excluded.loaded_at`,
          [batch.source.stream, batch.table, shardId, sequenceNumber, arrival === undefined ? null : new Date(arrival).toISOString(), new Date(failedAt).toISOString()],
        );
      }
    }, commitLost);
  }

  /**
   * True when an earlier attempt of this very batch (same stream, table and positions) lost its COMMIT answer
   * but did commit: the retry must not load it again (nor fail on its own positions). Unreachable server:
   * `WAREHOUSE_UNAVAILABLE`, and the question is asked again at the next retry.
   */
  private async alreadyCommitted(pair: string, positionsKey: string): Promise<boolean> {
    const earlier = this.unsettled.get(pair);
    if (!earlier) return false;
    this.assertOpen();
    const status = await this.withClient(this.writer, async (client) => {
      const result = await client.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [earlier.xid]);
      return result.rows[0]?.status ?? null;
    }).catch((err: unknown) => {
      throw writeError(err);
    });
    if (status === 'in progress') {
      throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `the previous attempt of this batch (transaction ${earlier.xid}) is still committing; retry`, { context: { xid: earlier.xid } });
    }
    this.unsettled.delete(pair);
    return status === 'committed' && earlier.positions === positionsKey;
  }

  async deliveryErrors(query: DeliveryErrorQuery = {}): Promise<StoredDeliveryError[]> {
    this.assertOpen();
    const names: string[] = [];
    const filter = deliveryErrorFilter(query, (name) => `$${names.push(name)}`);
    const epochMs = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;
    const result = await this.withClient(this.writer, (client) =>
      client.query({
        text: `SELECT ${DELIVERY_ERROR_COLUMNS}, ${epochMs('arrival_time')}, ${epochMs('failed_at')}, ${epochMs('redriven_at')}
               FROM ${quoteIdentifier(DELIVERY_ERRORS.name)} WHERE ${filter.sql}
               ORDER BY failed_at DESC, stream, table_name, shard_id, sequence_number LIMIT ${filter.limit}`,
        values: names.map((n) => filter.params[n]),
        rowMode: 'array',
      } as pg.QueryArrayConfig),
    ).catch((err: unknown) => {
      throw writeError(err);
    });
    return (result.rows as unknown[][]).map((row) => storedDeliveryError(row));
  }

  async redriveDeliveryError(redrive: DeliveryErrorRedrive): Promise<void> {
    const schema = knownTable(this.tables, redrive.key.table);
    const now = this.now();
    const rows = redrive.rows.length > 0 ? [...csvLines(schema, redrive.rows, CHUNK_BYTES)] : [];
    const errors = redrive.errors.length > 0 ? [...csvLines(DELIVERY_ERRORS, deliveryErrorRows({ table: redrive.key.table, errors: redrive.errors, source: { stream: redrive.key.stream } }, now), CHUNK_BYTES)] : [];
    const names: string[] = [];
    const filter = deliveryErrorFilter({ key: redrive.key }, (name) => `$${names.push(name)}`);
    await this.transaction(async (client) => {
      // A concurrent redrive of the same record waits here for the first to commit, then finds nothing listed.
      const marked = await client.query(
        `UPDATE ${quoteIdentifier(DELIVERY_ERRORS.name)} SET redriven_at = $${names.length + 1}::timestamptz WHERE ${filter.sql} AND redriven_at IS NULL`,
        [...names.map((n) => filter.params[n]), new Date(now).toISOString()],
      );
      if (marked.rowCount !== redrive.listed) throw redriveConflict(redrive, marked.rowCount ?? 0);
      if (rows.length > 0) await copyInto(client, schema, rows);
      if (errors.length > 0) await copyInto(client, DELIVERY_ERRORS, errors);
    });
  }

  async positions(stream: string, table: string): Promise<Record<string, string>> {
    this.assertOpen();
    return this.withClient(this.writer, (client) => readPositions(client, stream, table)).catch((err: unknown) => {
      throw writeError(err);
    });
  }

  async replaceRows(table: string, rows: readonly Row[]): Promise<void> {
    const schema = knownTable(this.tables, table);
    const lines = rows.length > 0 ? [...csvLines(schema, rows, CHUNK_BYTES)] : [];
    await this.transaction(async (client) => {
      await client.query(`DELETE FROM ${quoteIdentifier(schema.name)}`);
      if (lines.length > 0) await copyInto(client, schema, lines);
    });
  }

  async query(sql: string, params: QueryParams = {}, options: QueryOptions = {}): Promise<QueryResult> {
    return collectRows((sink, o) => this.streamQuery(sql, params, sink, o), options.maxRows ?? this.limits.maxRows, options);
  }

  async streamQuery(sql: string, params: QueryParams, sink: QuerySink, options: QueryOptions = {}): Promise<{ rowCount: number }> {
    this.assertOpen();
    checkReadStatement(toPositional(sql));
    const timeoutMs = options.timeoutMs ?? this.limits.timeoutMs;
    // No interrupt of our own: every statement runs under a statement_timeout of the time left (see runStream).
    const watch = watchQuery(timeoutMs, options.signal, () => undefined);
    const deadline = Date.now() + timeoutMs;
    const progress = { started: false };
    try {
      try {
        return await this.runStream(sql, params, sink, { watch, deadline, progress, typeFromValues: false });
      } catch (err) {
        // A parameter with no type from its context (`$x IS NULL` before any comparison), or typed differently by
        // the cursor's plan than by its uses (42804): type it from its value.
        if (!progress.started && isServerError(err) && (err.code === '42P18' || err.code === '42P08' || err.code === '42804')) {
          return await this.runStream(sql, params, sink, { watch, deadline, progress, typeFromValues: true });
        }
        throw err;
      }
    } catch (err) {
      throw queryError(watch.explain(err));
    } finally {
      watch.stop();
    }
  }

  /**
   * Runs the statement through a cursor, FETCHing a chunk at a time, so neither this process nor the
   * connection holds more than a chunk. EXPLAIN cannot be a cursor; its answer is a few lines.
   */
  private async runStream(
    sql: string,
    params: QueryParams,
    sink: QuerySink,
    run: { watch: QueryWatch; deadline: number; progress: { started: boolean }; typeFromValues: boolean },
  ): Promise<{ rowCount: number }> {
    const statement = toPositional(sql, (name, placeholder) => placeholderFor(params[name], placeholder, run.typeFromValues));
    const values = statement.names.map((name) => {
      if (!Object.hasOwn(params, name)) {
        throw new TollstreamError('INVALID_ARGUMENT', `the query uses $${name} but no parameter '${name}' was given`, { context: { parameter: name } });
      }
      return bindValue(params[name]!);
    });
    return this.withClient(this.readers, async (client) => {
      await client.query('BEGIN TRANSACTION READ ONLY');
      try {
        // The time left for each statement: the whole query, fetching included, stays within the timeout.
        const timeLeft = async () => {
          run.watch.check();
          await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(run.deadline - Date.now()))}`);
        };
        const columnsOf = (fields: readonly pg.FieldDef[]) => fields.map((f) => ({ name: f.name, type: TYPE_NAMES[f.dataTypeID] ?? `OID ${f.dataTypeID}` }));
        const rowsOf = (result: pg.QueryArrayResult, columns: readonly { type: string }[]) => (result.rows as unknown[][]).map((row) => row.map((v, i) => toQueryValue(v, columns[i]!.type)));
        await timeLeft();
        // The extended protocol even without values: the server then refuses a second statement itself.
        if (statement.firstKeyword === 'EXPLAIN') {
          const result = await client.query({ text: statement.text, values, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig);
          run.watch.check();
          const columns = columnsOf(result.fields);
          run.progress.started = true;
          await sink.columns(columns);
          const rows = rowsOf(result, columns);
          if (rows.length > 0) await sink.rows(rows);
          return { rowCount: rows.length };
        }
        await client.query({ text: `DECLARE tollstream_query NO SCROLL CURSOR FOR ${statement.text}`, values, queryMode: 'extended' } as pg.QueryConfig);
        let columns: { name: string; type: string }[] | undefined;
        let rowCount = 0;
        for (;;) {
          await timeLeft();
          const result = await client.query({ text: `FETCH ${FETCH_ROWS} FROM tollstream_query`, rowMode: 'array' } as pg.QueryArrayConfig);
          run.watch.check();
          if (columns === undefined) {
            columns = columnsOf(result.fields);
            run.progress.started = true;
            await sink.columns(columns);
          }
          if (result.rows.length === 0) break;
          const rows = rowsOf(result, columns);
          rowCount += rows.length;
          await sink.rows(rows);
        }
        return { rowCount };
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    });
  }

  async freshness(): Promise<Freshness> {
    this.assertOpen();
    const result = await this.withClient(this.readers, (client) =>
      client.query<{ newest: bigint | null }>(`SELECT (extract(epoch FROM max(newest_arrival_time)) * 1000)::bigint AS newest FROM ${quoteIdentifier(DELIVERY_POSITIONS.name)}`),
    ).catch((err: unknown) => {
      throw writeError(err);
    });
    const value = result.rows[0]?.newest;
    if (value === null || value === undefined) return { seconds: null, newestArrivalTime: null };
    const newest = Number(value);
    return { seconds: Math.max(0, (this.now() - newest) / 1000), newestArrivalTime: new Date(newest).toISOString() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.writer.end(), this.readers.end()]);
  }

  /** Runs `fn` in one write transaction; the writer pool has one connection, so transactions run one at a time. */
  private async transaction(fn: (client: pg.PoolClient) => Promise<void>, commitLost?: () => void): Promise<void> {
    this.assertOpen();
    try {
      await this.withClient(this.writer, async (client) => {
        await client.query('BEGIN');
        try {
          await fn(client);
          try {
            await client.query('COMMIT');
          } catch (err) {
            // No answer (the connection went): the transaction may or may not have committed.
            if (!isServerError(err)) commitLost?.();
            throw err;
          }
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      throw writeError(err);
    }
  }

  /** A pooled connection for `fn`; a connection that failed at the protocol level is discarded, not reused. */
  private async withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(client);
    } catch (err) {
      if (!isServerError(err) && !isTollstreamError(err)) broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new TollstreamError('WAREHOUSE_UNAVAILABLE', 'the warehouse is closed');
  }
}

async function readPositions(client: pg.PoolClient, stream: string, table: string): Promise<Record<string, string>> {
  const result = await client.query<{ shard_id: string; sequence_number: string }>(
    `SELECT shard_id, sequence_number FROM ${quoteIdentifier(DELIVERY_POSITIONS.name)} WHERE stream = $1 AND table_name = $2`,
    [stream, table],
  );
  const out: Record<string, string> = {};
  for (const row of result.rows) out[row.shard_id] = row.sequence_number;
  return out;
}

async function copyInto(client: pg.PoolClient, schema: TableSchema, chunks: readonly string[]): Promise<void> {
  const columns = schema.columns.map((c) => quoteIdentifier(c.name)).join(', ');
  const copy = client.query(copyFrom(`COPY ${quoteIdentifier(schema.name)} (${columns}) FROM STDIN WITH (FORMAT csv)`));
  await pipeline(Readable.from(chunks), copy);
}

function newestArrivalByShard(rows: readonly Row[]): Map<string, number> {
  const newest = new Map<string, number>();
  for (const row of rows) {
    const shard = row.shard_id;
    const arrival = row.arrival_time;
    if (typeof shard !== 'string' || typeof arrival !== 'number') continue;
    const before = newest.get(shard);
    if (before === undefined || arrival > before) newest.set(shard, arrival);
  }
  return newest;
}

