/**
 * The DuckDB warehouse: one database file, one connection for writes (serialized), a fresh connection in a
 * read-only transaction for every query. Rows go in through one columnar INSERT per table (duckdb-insert.ts)
 * inside the write transaction, so a batch and its source positions commit together.
 */
import { JSDuckDBValueConverter, StatementType, timestampValue, type DuckDBConnection, type DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { checkBatchPositions } from './positions.ts';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { addColumnSql, createTableSql, DUCKDB_COLUMN_TYPES, DUCKDB_DIALECT, quoteIdentifier } from './dialect.ts';
import { damaged, isDamage, openDuckDBFile, type DamagedWarehouse } from './duckdb-file.ts';
import { columnarInsert } from './duckdb-insert.ts';
import { ADDED_COLUMNS, DELIVERY_ERRORS, DELIVERY_POSITIONS, TABLES, deliveryErrorRows, knownTable, warehouseTables } from './tables.ts';
import { DELIVERY_ERROR_COLUMNS, deliveryErrorFilter, redriveConflict, storedDeliveryError } from './delivery-errors.ts';
import { collectRows, DEFAULT_MAX_RESULT_ROWS, DEFAULT_QUERY_TIMEOUT_MS, watchQuery } from './query-limits.ts';
import { toQueryValue } from './values.ts';
import type {
  DeliveryErrorQuery,
  DeliveryErrorRedrive,
  StoredDeliveryError,
  Freshness,
  LoadBatch,
  QueryOptions,
  QueryParams,
  QueryResult,
  QuerySink,
  Row,
  TableSchema,
  Warehouse,
} from './types.ts';

export interface DuckDBWarehouseOptions {
  /** The database file; `:memory:` for a throwaway warehouse. */
  readonly path: string;
  /**
   * Let SQL read and write files outside the database (read_csv, COPY TO...). Off, analysts' queries cannot
   * touch the server's file system. @default false
   */
  readonly externalAccess?: boolean;
  /** DuckDB worker threads. @default DuckDB's choice (the number of cores) */
  readonly threads?: number;
  /**
   * Most memory DuckDB may use, in MiB (its `memory_limit`, for the whole database: queries and loading). A
   * query that needs more, after spilling what it can to disk, fails with `WAREHOUSE_OUT_OF_MEMORY`.
   * @default DuckDB's choice (80% of the machine's memory)
   */
  readonly memoryLimitMiB?: number;
  /** Most rows `query` returns (`streamQuery` is not capped). @default 100000 */
  readonly maxResultRows?: number;
  /** A query running longer is interrupted: `WAREHOUSE_QUERY_TIMEOUT`. Milliseconds. @default 60000 */
  readonly queryTimeoutMs?: number;
  /**
   * When given, a damaged file (cut short, failing a checksum at open, or marked damaged while running) is
   * moved aside as `<path>.damaged-<time>` with its write-ahead log, an empty warehouse is created in its
   * place, and this is called; delivery then loads it again from the log. @default none: refused with
   * `WAREHOUSE_CORRUPT`
   */
  readonly rebuildDamaged?: (event: DamagedWarehouse) => void;
  /** The clock, in ms since the epoch (for freshness and `loaded_at`). @default Date.now */
  readonly now?: () => number;
}

/** Statement types a query may run: they read and never write. */
const READ_STATEMENTS: ReadonlySet<number> = new Set([StatementType.SELECT, StatementType.EXPLAIN]);

export async function openDuckDBWarehouse(options: DuckDBWarehouseOptions): Promise<Warehouse> {
  const config: Record<string, string> = { enable_external_access: String(options.externalAccess ?? false) };
  if (options.threads !== undefined) config.threads = String(options.threads);
  if (options.memoryLimitMiB !== undefined) config.memory_limit = `${options.memoryLimitMiB}MiB`;
  const { instance, writer } = await openDuckDBFile(options.path, config, options.rebuildDamaged);
  const limits = { maxRows: options.maxResultRows ?? DEFAULT_MAX_RESULT_ROWS, timeoutMs: options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS };
  return new DuckDBWarehouse(options.path, instance, writer, options.now ?? Date.now, limits);
}

class DuckDBWarehouse implements Warehouse {
  readonly dialect = DUCKDB_DIALECT;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private tables: readonly TableSchema[] = TABLES;

  constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly now: () => number,
    private readonly limits: { readonly maxRows: number; readonly timeoutMs: number },
  ) {}

  async ensureSchema(extra: readonly TableSchema[] = []): Promise<void> {
    const tables = warehouseTables(extra);
    await this.exclusive(async () => {
      for (const table of tables) await this.writer.run(createTableSql(table, DUCKDB_COLUMN_TYPES));
      for (const { table, column } of ADDED_COLUMNS) await this.writer.run(addColumnSql(table, column, DUCKDB_COLUMN_TYPES));
    });
    this.tables = tables;
  }

  tableSchema(name: string): TableSchema | undefined {
    return this.tables.find((t) => t.name === name);
  }

  async loadBatch(batch: LoadBatch): Promise<void> {
    const schema = knownTable(this.tables, batch.table);
    await this.transaction(async () => {
      const stored = await this.readPositions(batch.source.stream, batch.table);
      checkBatchPositions(batch, stored);
      if (batch.rows.length > 0) await this.append(schema, batch.rows);
      const failedAt = this.now();
      if (batch.errors && batch.errors.length > 0) await this.append(DELIVERY_ERRORS, deliveryErrorRows(batch, failedAt));
      const newest = newestArrivalByShard(batch.rows);
      for (const [shardId, sequenceNumber] of Object.entries(batch.source.positions)) {
        const arrival = newest.get(shardId);
        await this.writer.run(
          `INSERT INTO ${quoteIdentifier(DELIVERY_POSITIONS.name)} VALUES ($stream, $table, $shard, $seq, $newest, $loaded)
           ON CONFLICT (stream, table_name, shard_id) DO UPDATE SET
             sequence_number = excluded.sequence_number,
             newest_arrival_time = greatest(${quoteIdentifier(DELIVERY_POSITIONS.name)}.newest_arrival_time, excluded.newest_arrival_time),
             loaded_at = excluded.loaded_at`,
          {
            stream: batch.source.stream,
            table: batch.table,
            shard: shardId,
            seq: sequenceNumber,
            newest: arrival === undefined ? null : timestampFromMs(arrival),
            loaded: timestampFromMs(failedAt),
          },
        );
      }
    });
  }

  async deliveryErrors(query: DeliveryErrorQuery = {}): Promise<StoredDeliveryError[]> {
    const filter = deliveryErrorFilter(query, (name) => `$${name}`);
    return this.exclusive(async () => {
      const reader = await this.writer.runAndReadAll(
        `SELECT ${DELIVERY_ERROR_COLUMNS}, epoch_ms(arrival_time), epoch_ms(failed_at), epoch_ms(redriven_at)
         FROM ${quoteIdentifier(DELIVERY_ERRORS.name)} WHERE ${filter.sql}
         ORDER BY failed_at DESC, stream, table_name, shard_id, sequence_number LIMIT ${filter.limit}`,
        filter.params,
      );
      return reader.getRowsJS().map((row) => storedDeliveryError(row as unknown[]));
    });
  }

  async redriveDeliveryError(redrive: DeliveryErrorRedrive): Promise<void> {
    const schema = knownTable(this.tables, redrive.key.table);
    await this.transaction(async () => {
      const now = this.now();
      const filter = deliveryErrorFilter({ key: redrive.key }, (name) => `$${name}`);
      const marked = await this.writer.run(`UPDATE ${quoteIdentifier(DELIVERY_ERRORS.name)} SET redriven_at = $redrivenAt WHERE ${filter.sql} AND redriven_at IS NULL`, {
        ...filter.params,
        redrivenAt: timestampFromMs(now),
      });
      if (marked.rowsChanged !== redrive.listed) throw redriveConflict(redrive, marked.rowsChanged);
      if (redrive.rows.length > 0) await this.append(schema, redrive.rows);
      if (redrive.errors.length > 0) await this.append(DELIVERY_ERRORS, deliveryErrorRows({ table: redrive.key.table, errors: redrive.errors, source: { stream: redrive.key.stream } }, now));
    });
  }

  async positions(stream: string, table: string): Promise<Record<string, string>> {
    return this.exclusive(() => this.readPositions(stream, table));
  }

  async replaceRows(table: string, rows: readonly Row[]): Promise<void> {
    const schema = knownTable(this.tables, table);
    await this.transaction(async () => {
      await this.writer.run(`DELETE FROM ${quoteIdentifier(schema.name)}`);
      if (rows.length > 0) await this.append(schema, rows);
    });
  }

  async query(sql: string, params: QueryParams = {}, options: QueryOptions = {}): Promise<QueryResult> {
    return collectRows((sink, o) => this.streamQuery(sql, params, sink, o), options.maxRows ?? this.limits.maxRows, options);
  }

  async streamQuery(sql: string, params: QueryParams, sink: QuerySink, options: QueryOptions = {}): Promise<{ rowCount: number }> {
    this.assertOpen();
    const conn = await this.instance.connect();
    const watch = watchQuery(options.timeoutMs ?? this.limits.timeoutMs, options.signal, () => conn.interrupt());
    try {
      await conn.run('BEGIN TRANSACTION READ ONLY');
      const extracted = await conn.extractStatements(sql);
      if (extracted.count !== 1) {
        throw new TollstreamError('INVALID_ARGUMENT', `a query must be exactly one SQL statement, got ${extracted.count}`);
      }
      const prepared = await extracted.prepare(0);
      if (!READ_STATEMENTS.has(prepared.statementType)) {
        throw new TollstreamError('WAREHOUSE_READ_ONLY', `warehouse queries are read-only: only SELECT and EXPLAIN may run (got a ${StatementType[prepared.statementType] ?? 'other'} statement)`, {
          context: { statementType: StatementType[prepared.statementType] },
        });
      }
      prepared.bind(bindValues(params));
      const result = await prepared.stream();
      watch.check();
      const types = result.columnTypes();
      const columns = result.columnNames().map((name, i) => ({ name, type: types[i]!.toString() }));
      await sink.columns(columns);
      let rowCount = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        // An interrupt can end the stream early without an error: only the watch knows the rows are cut short.
        watch.check();
        if (chunk === null || chunk.rowCount === 0) break;
        const rows = chunk.convertRows(JSDuckDBValueConverter).map((row) => row.map((v, i) => toQueryValue(v, columns[i]!.type)));
        rowCount += rows.length;
        await sink.rows(rows);
        watch.check();
      }
      return { rowCount };
    } catch (err) {
      throw queryError(watch.explain(err), this.path);
    } finally {
      watch.stop();
      await conn.run('ROLLBACK').catch(() => undefined);
      conn.closeSync();
    }
  }

  async freshness(): Promise<Freshness> {
    // Its own connection: a report asking for freshness does not wait for a batch being committed.
    this.assertOpen();
    const conn = await this.instance.connect();
    let newest: number | null;
    try {
      const reader = await conn.runAndReadAll(`SELECT epoch_ms(max(newest_arrival_time)) FROM ${quoteIdentifier(DELIVERY_POSITIONS.name)}`);
      const value = reader.getRowsJS()[0]?.[0];
      newest = value === null || value === undefined ? null : Number(value);
    } catch (err) {
      throw queryError(err, this.path);
    } finally {
      conn.closeSync();
    }
    if (newest === null) return { seconds: null, newestArrivalTime: null };
    return { seconds: Math.max(0, (this.now() - newest) / 1000), newestArrivalTime: new Date(newest).toISOString() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => {
      this.closed = true;
      // Closing checkpoints the write-ahead log into the file, synchronously on the main thread; an async
      // CHECKPOINT first does that work on DuckDB's threads. If it cannot run now, closing still checkpoints.
      await this.writer.run('CHECKPOINT').catch(() => undefined);
      this.writer.closeSync();
      this.instance.closeSync();
    });
  }

  /** Runs `fn` alone on the write connection: DuckDB connections do not interleave transactions. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.assertOpen();
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private transaction(fn: () => Promise<void>): Promise<void> {
    return this.exclusive(async () => {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await fn();
        await this.writer.run('COMMIT');
      } catch (err) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw writeError(err, this.path);
      }
    });
  }

  private async readPositions(stream: string, table: string): Promise<Record<string, string>> {
    const reader = await this.writer.runAndReadAll(
      `SELECT shard_id, sequence_number FROM ${quoteIdentifier(DELIVERY_POSITIONS.name)} WHERE stream = $stream AND table_name = $table`,
      { stream, table },
    );
    const out: Record<string, string> = {};
    for (const [shard, seq] of reader.getRowsJS()) out[String(shard)] = String(seq);
    return out;
  }

  private async append(schema: TableSchema, rows: readonly Row[]): Promise<void> {
    const { sql, params } = columnarInsert(schema, rows);
    const result = await this.writer.run(sql, params);
    if (result.rowsChanged !== rows.length) {
      // The encoding gives every column exactly one item per row; anything else would load wrong rows.
      throw new TollstreamError('INTERNAL', `inserting ${rows.length} rows into ${schema.name} stored ${result.rowsChanged}; the batch is rolled back`, {
        context: { table: schema.name },
      });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new TollstreamError('WAREHOUSE_UNAVAILABLE', 'the warehouse is closed');
  }
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

function bindValues(params: QueryParams): Record<string, DuckDBValue> {
  const out: Record<string, DuckDBValue> = {};
  for (const [name, value] of Object.entries(params)) {
    out[name] = value instanceof Date ? timestampFromMs(value.getTime()) : (value as DuckDBValue);
  }
  return out;
}

function timestampFromMs(ms: number) {
  return timestampValue(BigInt(Math.round(ms)) * 1000n);
}


/** DuckDB error classes that mean the data itself is wrong: retrying the same rows cannot succeed. */
const DATA_ERRORS = /^(Constraint Error|Conversion Error|Invalid Input Error|Out of Range Error|Failed to append)/;

function writeError(err: unknown, path: string): TollstreamError {
  if (isTollstreamError(err)) return err;
  const text = message(err);
  if (isDamage(err)) return damaged(path, err);
  if (DATA_ERRORS.test(text)) return new TollstreamError('WAREHOUSE_REJECTED', `the warehouse refused the batch: ${text}`, { cause: err });
  return new TollstreamError('WAREHOUSE_UNAVAILABLE', `writing to the warehouse failed: ${text}`, { cause: err });
}

function queryError(err: unknown, path: string): unknown {
  if (isTollstreamError(err) || isAbort(err)) return err;
  const text = message(err);
  if (isDamage(err)) return damaged(path, err);
  if (/^Out of Memory Error/.test(text)) {
    return new TollstreamError('WAREHOUSE_OUT_OF_MEMORY', `the query needs more memory than the warehouse may use (warehouse.memoryLimitMiB): ${text.split('\n')[0]}; narrow it or raise the limit`, { cause: err });
  }
  if (/read-only/i.test(text)) return new TollstreamError('WAREHOUSE_READ_ONLY', `warehouse queries are read-only: ${text}`, { cause: err });
  return new TollstreamError('INVALID_ARGUMENT', `the query failed: ${text}`, { cause: err });
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
