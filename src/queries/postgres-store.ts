/**
 * Query definitions and checkpoints in PostgreSQL, for a cluster: every node reads the same definitions, and the
 * node that takes a query over reads the checkpoint chain its last owner wrote (postgres-checkpoints.ts). Two
 * tables in a schema of their own (`tollstream_queries` unless told otherwise):
 *
 *   definitions (name PRIMARY KEY, created_at, definition jsonb)   one row per query, replaced whole
 *   checkpoints (query, name, body bytea, PRIMARY KEY (query, name))  the blobs of checkpoint-chain.ts
 *
 * Checkpoints are encoded and written on the checkpoint thread, fenced by the query's lease when one is given.
 */
import pg from 'pg';
import { TollstreamError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';
import { inTransaction, openPool, unavailable, type PostgresPlace } from './postgres-checkpoints.ts';
import { queryExists, type QueryStoreOptions } from './store.ts';
import type { Checkpoint, LeaseFence, QueryDefinition, QueryStateStore } from './types.ts';

export interface PostgresQueryStoreOptions extends QueryStoreOptions {
  /** `postgres://user:password@host:5432/database` */
  readonly connectionString: string;
  /** The schema of the query tables; created when missing. Lower-case letters, digits and `_`. @default 'tollstream_queries' */
  readonly schema?: string;
  /** The schema of the lease table that fences checkpoint writes. @default 'tollstream_leases' */
  readonly leaseSchema?: string;
  /** A statement or connection attempt taking longer fails with `TABLES_UNAVAILABLE`, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** The lease key of a query's work (removed with the query). @default `query:<name>` */
  readonly leaseKey?: (query: string) => string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The lease key of a continuous query's work. */
export function queryLeaseKey(name: string): string {
  return `query:${name}`;
}

export async function openPostgresQueryStore(options: PostgresQueryStoreOptions, logger: Logger = silentLogger): Promise<PostgresQueryStore> {
  const place: PostgresPlace = {
    connectionString: options.connectionString,
    schema: options.schema ?? 'tollstream_queries',
    leaseSchema: options.leaseSchema ?? 'tollstream_leases',
    timeoutMs: options.timeoutMs ?? 5000,
  };
  for (const schema of [place.schema, place.leaseSchema]) {
    if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
      throw new TollstreamError('CONFIG_INVALID', `the schema '${schema}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema } });
    }
  }
  await createTables(place);
  return new PostgresQueryStore(place, logger, options);
}

/** The tables, created under an advisory lock (nodes starting at once would race on IF NOT EXISTS). */
async function createTables(place: PostgresPlace): Promise<void> {
  const client = new pg.Client({ connectionString: place.connectionString, connectionTimeoutMillis: place.timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:queries:${place.schema}`]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [place.schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${place.schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${place.schema}".definitions (name text PRIMARY KEY, created_at bigint NOT NULL, definition jsonb NOT NULL)`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${place.schema}".checkpoints (query text NOT NULL, name text NOT NULL, body bytea NOT NULL, PRIMARY KEY (query, name))`);
    await client.query('COMMIT');
  } catch (err) {
    throw unavailable(place, 'creating the query tables', err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class PostgresQueryStore implements QueryStateStore {
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly writer: CheckpointWriter;
  private readonly leaseKey: (query: string) => string;

  constructor(
    private readonly place: PostgresPlace,
    logger: Logger,
    options: Pick<PostgresQueryStoreOptions, 'checkpointFullEvery' | 'leaseKey'>,
  ) {
    this.description = `postgres:${place.schema}`;
    this.pool = openPool(place, 2);
    this.writer = new CheckpointWriter({ maxDeltas: Math.max(1, options.checkpointFullEvery ?? 10) - 1 }, logger, place);
    this.leaseKey = options.leaseKey ?? queryLeaseKey;
  }

  private async run<R extends pg.QueryResultRow>(what: string, sql: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, values);
    } catch (err) {
      throw unavailable(this.place, what, err);
    }
  }

  async listDefinitions(): Promise<QueryDefinition[]> {
    const rows = (await this.run<{ name: string; definition: QueryDefinition }>('reading the query definitions', 'SELECT name, definition FROM definitions ORDER BY created_at, name')).rows;
    return rows.map(({ name, definition }) => {
      if (typeof definition !== 'object' || definition === null || definition.name !== name || typeof definition.sql !== 'string') {
        throw new TollstreamError('STATE_CORRUPT', `the definition of query ${name} in ${this.description}.definitions is not a query definition of a known layout; drop the query and create it again`, { context: { query: name, schema: this.place.schema } });
      }
      return definition;
    });
  }

  async saveDefinition(def: QueryDefinition, options: { readonly create?: boolean } = {}): Promise<void> {
    const onConflict = options.create ? 'DO NOTHING' : 'DO UPDATE SET created_at = excluded.created_at, definition = excluded.definition';
    const written = await this.run(`writing the definition of query ${def.name}`, `INSERT INTO definitions (name, created_at, definition) VALUES ($1, $2, $3) ON CONFLICT (name) ${onConflict}`, [def.name, def.createdAt, JSON.stringify(def)]);
    if (options.create && written.rowCount === 0) throw queryExists(def.name);
  }

  loadCheckpoint(name: string, fence?: LeaseFence | null): Promise<Checkpoint | null> {
    return this.writer.open(name, '', fence);
  }

  saveCheckpoint(name: string, checkpoint: Checkpoint, fence?: LeaseFence | null): Promise<number> {
    return this.writer.save(name, '', checkpoint, fence);
  }

  forget(name: string): Promise<void> {
    return this.writer.forget(name);
  }

  /** Removes the definition, the checkpoints and the lease of the query in one transaction: a node still running it can write nothing more. */
  async remove(name: string): Promise<void> {
    await this.writer.forget(name);
    await inTransaction(this.pool, this.place, `removing query ${name}`, undefined, name, async (c) => {
      await c.query('DELETE FROM definitions WHERE name = $1', [name]);
      await c.query('DELETE FROM checkpoints WHERE query = $1', [name]);
      const leases = await c.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${this.place.leaseSchema}".leases`]);
      if (leases.rows[0]?.t) await c.query(`DELETE FROM "${this.place.leaseSchema}".leases WHERE key = $1`, [this.leaseKey(name)]);
    });
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.pool.end();
  }
}
