/**
 * The Parquet lake of a cluster: one folder every node shares (`lake.dir` on NFS or the like), written by the
 * node holding each shard's lease, with what is committed kept in PostgreSQL (`cluster.postgresUrl`, schema
 * `tollstream_lake`) instead of in manifest files: the position of every shard and the files of every batch.
 *
 * A batch is written in three steps:
 *
 *   1. its files are named (`<shardId>-<firstSeq>-<lastSeq>-<attempt>.parquet`, the attempt random, so no two
 *      writers ever write one name) and recorded as not yet committed;
 *   2. the files are written, synced and renamed into place;
 *   3. one transaction checks that every shard continues from the position the lake holds (the warehouse's
 *      check, `checkBatchPositions`), moves the positions and marks the files committed.
 *
 * A file is live when its row is committed. A writer whose commit is refused (its lease moved and another node
 * wrote the shard meanwhile) deletes its files. A writer killed between 1 and 3 leaves files that can never
 * commit once the shard's position reaches their first record (a commit must continue from the held position,
 * and positions only grow): such files are deleted, with their rows, after every commit and whenever a node
 * takes a shard. So the live files hold every delivered record once, and, once the shard's position has passed
 * them, no other file is left on disk.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import pg from 'pg';
import { redactUrl } from '../core/connection-url.ts';
import { writeFileAtomic } from '../core/durable-files.ts';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { checkBatchPositions, type TableSchema } from '../warehouse/index.ts';
import { SHARED_LAKE_MARK, checkLakeKind, lakeLayout, planFiles, writeFiles, type LakeLayout } from './lake-files.ts';
import type { ManifestFile } from './lake-manifest.ts';
import type { DeliveryDestination, DestinationBatch } from './types.ts';

export interface SharedParquetLakeOptions {
  /** The folder every node shares; the table's files live in `<dir>/<table>/`. */
  readonly dir: string;
  /** `postgres://user:password@host:5432/database`: where the positions and the files of every commit are kept. */
  readonly postgresUrl: string;
  /** The schema of its tables; created when missing. @default 'tollstream_lake' */
  readonly postgresSchema?: string;
  /** The table delivered: its name names the lake's folder, its columns the files'. */
  readonly schema: TableSchema;
  /** @default ['plaza_id'] */
  readonly partitionBy?: readonly string[];
  /** @default 'event_time' */
  readonly timeField?: string;
  /** @default 'hour' */
  readonly timeGranularity?: 'day' | 'hour';
  /** A statement or connection attempt taking longer fails (retriably), in ms. @default 30000 */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

export interface SharedParquetLake extends DeliveryDestination {
  /** The committed files, in commit order (what a reader should read). */
  files(): Promise<ManifestFile[]>;
  close(): Promise<void>;
}

/** The live data files, rewritten after each commit under the lake's lock (plain JSON, for readers outside the server). */
const CURRENT_FILE = '_current.json';

export async function openSharedParquetLake(options: SharedParquetLakeOptions): Promise<SharedParquetLake> {
  const layout = lakeLayout(options);
  const schemaName = options.postgresSchema ?? 'tollstream_lake';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName) || schemaName.startsWith('pg_')) {
    throw new TollstreamError('CONFIG_INVALID', `the lake schema '${schemaName}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema: schemaName } });
  }
  await checkLakeKind(layout, 'shared');
  await fs.mkdir(path.join(layout.root, SHARED_LAKE_MARK), { recursive: true });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: options.postgresUrl,
    max: 2,
    options: `-c search_path=${schemaName}`,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
  });
  // A dropped connection emits 'error' on its client; the query in flight fails on its own.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const where = redactUrl(options.postgresUrl);
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const lake = new SharedLake(layout, pool, schemaName, where, instance, await instance.connect(), (options.logger ?? silentLogger).child({ component: 'lake', dir: layout.root }));
  try {
    await lake.createTables();
  } catch (err) {
    await lake.close();
    throw err;
  }
  return lake;
}

class SharedLake implements SharedParquetLake {
  readonly description: string;
  readonly schema: TableSchema;
  /** The lake's name in the tables: its table, so one schema could hold the lakes of several tables. */
  private readonly name: string;
  private closed = false;

  constructor(
    private readonly layout: LakeLayout,
    private readonly pool: pg.Pool,
    private readonly pgSchema: string,
    private readonly where: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly logger: Logger,
  ) {
    this.schema = layout.schema;
    this.name = layout.schema.name;
    this.description = `parquet:${layout.root}`;
  }

  /** Its tables, created under an advisory lock (nodes starting at once would race on IF NOT EXISTS). */
  async createTables(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:lake:${this.pgSchema}`]);
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.pgSchema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${this.pgSchema}"`);
      await client.query(`CREATE TABLE IF NOT EXISTS lake_positions (
        lake text NOT NULL, stream text NOT NULL, shard_id text NOT NULL, sequence_number numeric NOT NULL,
        PRIMARY KEY (lake, stream, shard_id))`);
      await client.query(`CREATE TABLE IF NOT EXISTS lake_files (
        lake text NOT NULL, path text NOT NULL, attempt text NOT NULL, stream text NOT NULL, shard_id text NOT NULL,
        first_sequence_number numeric NOT NULL, entry jsonb NOT NULL, commit_no bigint,
        PRIMARY KEY (lake, path))`);
      await client.query('CREATE INDEX IF NOT EXISTS lake_files_uncommitted ON lake_files (lake, stream, shard_id) WHERE commit_no IS NULL');
    });
  }

  /** The positions the lake holds; first deletes the files that can no longer commit (a node takes shards here). */
  async positions(stream: string): Promise<Record<string, string>> {
    await this.sweep(stream);
    return this.transaction((client) => this.readPositions(client, stream));
  }

  async files(): Promise<ManifestFile[]> {
    const result = await this.run<{ entry: ManifestFile }>('SELECT entry FROM lake_files WHERE lake = $1 AND commit_no IS NOT NULL ORDER BY commit_no, path', [this.name]);
    return result.rows.map((r) => r.entry);
  }

  async write(batch: DestinationBatch): Promise<void> {
    if (this.closed) throw new TollstreamError('WAREHOUSE_UNAVAILABLE', `the lake at ${this.layout.root} is closed`);
    const attempt = crypto.randomBytes(6).toString('hex');
    const plan = planFiles(this.layout, batch, `-${attempt}`);
    // Recorded before a byte is written: a writer killed after this leaves rows that name its files.
    await this.transaction(async (client) => {
      for (const file of plan.files) {
        await client.query('INSERT INTO lake_files (lake, path, attempt, stream, shard_id, first_sequence_number, entry) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          this.name,
          file.path,
          attempt,
          batch.stream,
          file.shardId,
          file.firstSequenceNumber,
          JSON.stringify(file),
        ]);
      }
    });
    const files = await writeFiles(this.conn, this.layout, plan);
    try {
      await this.transaction(async (client) => {
        await this.lock(client, batch.stream);
        const stored = await this.readPositions(client, batch.stream);
        // Every shard of the batch must continue from where the lake holds it: a shard with no `previous` counts as "from nothing".
        const previous = Object.fromEntries(Object.keys(batch.positions).map((shardId) => [shardId, batch.previous?.[shardId] ?? null]));
        checkBatchPositions({ table: `lake:${this.name}`, rows: [], source: { stream: batch.stream, positions: batch.positions, previous } }, stored);
        for (const [shardId, sequenceNumber] of Object.entries(batch.positions)) {
          await client.query(
            `INSERT INTO lake_positions (lake, stream, shard_id, sequence_number) VALUES ($1, $2, $3, $4)
             ON CONFLICT (lake, stream, shard_id) DO UPDATE SET sequence_number = excluded.sequence_number`,
            [this.name, batch.stream, shardId, sequenceNumber],
          );
        }
        const commit = (await client.query<{ n: string }>('SELECT (coalesce(max(commit_no), 0) + 1)::text AS n FROM lake_files WHERE lake = $1', [this.name])).rows[0]!.n;
        for (const file of files) {
          await client.query('UPDATE lake_files SET entry = $3, commit_no = $4 WHERE lake = $1 AND path = $2', [this.name, file.path, JSON.stringify(file), commit]);
        }
      });
    } catch (err) {
      if (isTollstreamError(err, 'DELIVERY_POSITION_CONFLICT')) {
        // Refused, so never to be committed: this attempt's files go, then their rows.
        await this.remove(plan.files.map((f) => f.path)).catch((cause: unknown) => this.logger.warn('deleting the files of a refused batch failed; the next sweep deletes them', { err: cause }));
      }
      throw err;
    }
    await this.sweep(batch.stream).catch((err: unknown) => this.logger.warn('deleting files that can no longer commit failed; retried after the next commit', { err }));
    await this.writeCurrent().catch((err: unknown) => this.logger.warn(`writing ${CURRENT_FILE} failed; it is written again after the next commit`, { err }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.closeSync();
    this.instance.closeSync();
    await this.pool.end();
  }

  /**
   * Deletes the files of `stream` that are not committed and start at or before their shard's position: no
   * commit can take them any more (it would have to continue from an older position). Files first, then rows.
   */
  private async sweep(stream: string): Promise<void> {
    const dead = await this.run<{ path: string }>(
      `SELECT f.path FROM lake_files f JOIN lake_positions p ON p.lake = f.lake AND p.stream = f.stream AND p.shard_id = f.shard_id
       WHERE f.lake = $1 AND f.stream = $2 AND f.commit_no IS NULL AND f.first_sequence_number <= p.sequence_number`,
      [this.name, stream],
    );
    if (dead.rows.length === 0) return;
    await this.remove(dead.rows.map((r) => r.path));
    this.logger.info('deleted lake files a writer left uncommitted (a node stopped or lost its lease mid-batch)', { files: dead.rows.length });
  }

  /** Deletes the files, then their rows (only rows not committed: a committed file is never removed here). */
  private async remove(paths: readonly string[]): Promise<void> {
    for (const p of paths) {
      // A writer killed mid-file leaves its temporary name.
      await fs.rm(path.join(this.layout.root, `${p}.tmp`), { force: true });
      await fs.rm(path.join(this.layout.root, p), { force: true });
    }
    await this.run('DELETE FROM lake_files WHERE lake = $1 AND path = ANY($2) AND commit_no IS NULL', [this.name, paths]);
  }

  /** `_current.json`, from the committed rows, under the lake's lock so a slower node never writes an older list over a newer one. */
  private async writeCurrent(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:lake-current:${this.pgSchema}:${this.name}`]);
      const result = await client.query<{ path: string; commit_no: string }>(
        "SELECT path, commit_no::text FROM lake_files WHERE lake = $1 AND commit_no IS NOT NULL AND entry->>'kind' = 'data' ORDER BY commit_no, path",
        [this.name],
      );
      const commit = Number(result.rows.at(-1)?.commit_no ?? 0);
      await writeFileAtomic(path.join(this.layout.root, CURRENT_FILE), JSON.stringify({ commit, files: result.rows.map((r) => r.path) }, null, 1));
    });
  }

  /** One writer of a (lake, stream) at a time, across nodes: the position check is then sound. */
  private async lock(client: pg.PoolClient, stream: string): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:lake:${this.pgSchema}:${this.name}:${stream}`]);
  }

  private async readPositions(client: pg.PoolClient, stream: string): Promise<Record<string, string>> {
    const result = await client.query<{ shard_id: string; sequence_number: string }>('SELECT shard_id, sequence_number::text FROM lake_positions WHERE lake = $1 AND stream = $2', [this.name, stream]);
    return Object.fromEntries(result.rows.map((r) => [r.shard_id, r.sequence_number]));
  }

  private async run<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, values);
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.unavailable(err);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw isTollstreamError(err) ? err : this.unavailable(err);
    } finally {
      client.release();
    }
  }

  private unavailable(err: unknown): TollstreamError {
    return new TollstreamError('WAREHOUSE_UNAVAILABLE', `the lake's tables at ${this.where} (schema ${this.pgSchema}) failed: ${err instanceof Error ? err.message : String(err)}`, {
      context: { url: this.where, schema: this.pgSchema },
      cause: err,
    });
  }
}
