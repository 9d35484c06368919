/**
 * The checkpoint chain of queries in PostgreSQL (a cluster): one row per blob of the chain
 * (`checkpoints (query, name, body)`, the names of checkpoint-chain.ts), so a node that takes a query over reads
 * the chain its last owner wrote. Used on the checkpoint thread, with a connection pool of its own.
 *
 * Every change is one transaction that first checks the query's lease (the fence): the lease row must name this
 * node at the epoch it took it with, unexpired, and is locked FOR SHARE until the commit, so a node taking the
 * lease (an UPDATE of that row) waits for the commit and then reads what it wrote. A node that lost the lease
 * commits nothing more: its transaction finds another owner or epoch and fails with `LEASE_LOST`.
 */
import pg from 'pg';
import { TollstreamError, isTollstreamError } from '../core/errors.ts';
import { redactUrl } from '../core/connection-url.ts';
import type { ChainMedium } from './chain-medium.ts';
import type { LeaseFence } from './types.ts';

export interface PostgresPlace {
  readonly connectionString: string;
  /** The schema of the query tables. */
  readonly schema: string;
  /** The schema of the lease table the fences read (`src/leases/postgres-store.ts`). */
  readonly leaseSchema: string;
  /** A statement or connection attempt taking longer fails, in ms. */
  readonly timeoutMs: number;
}

/** A PostgreSQL failure as the error of the query store (the server unreachable, a statement timed out). */
export function unavailable(place: PostgresPlace, what: string, err: unknown): TollstreamError {
  if (isTollstreamError(err)) return err;
  const url = redactUrl(place.connectionString);
  return new TollstreamError('TABLES_UNAVAILABLE', `${what} at ${url} (schema ${place.schema}) failed: ${err instanceof Error ? err.message : String(err)}; check that the server runs`, {
    context: { url, schema: place.schema },
    cause: err,
  });
}

export function openPool(place: PostgresPlace, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: place.connectionString,
    max,
    options: `-c search_path=${place.schema}`,
    connectionTimeoutMillis: place.timeoutMs,
    query_timeout: place.timeoutMs,
    statement_timeout: place.timeoutMs,
  });
  // A dropped connection emits 'error' on its client; the statement in flight fails on its own.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Runs `fn` in one transaction; with a fence, only while the lease is held (checked and locked first).
 * `fence` null: the lease is not held at all, refused without a round trip.
 */
export async function inTransaction<T>(pool: pg.Pool, place: PostgresPlace, what: string, fence: LeaseFence | null | undefined, query: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  if (fence === null) throw leaseLost(query, undefined);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw unavailable(place, what, err);
  }
  let failed: unknown;
  try {
    await client.query('BEGIN');
    if (fence) {
      const held = await client.query(`SELECT 1 FROM "${place.leaseSchema}".leases WHERE key = $1 AND owner = $2 AND epoch = $3 AND expires_at > now() FOR SHARE`, [fence.key, fence.owner, fence.epoch]);
      if (held.rowCount === 0) throw leaseLost(query, fence);
    }
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    failed = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw unavailable(place, what, err);
  } finally {
    // A connection whose transaction failed midway (a timeout) is not reused.
    client.release(failed !== undefined && !isTollstreamError(failed, 'LEASE_LOST') ? (failed as Error) : undefined);
  }
}

function leaseLost(query: string, fence: LeaseFence | undefined): TollstreamError {
  return new TollstreamError('LEASE_LOST', `query "${query}" no longer holds its lease on this node: its state is not written (the node holding the lease now continues from the last stored checkpoint)`, {
    context: { query, ...(fence ? { key: fence.key, owner: fence.owner, epoch: fence.epoch } : {}) },
  });
}

/** The chain of `query` in the `checkpoints` table; each change fenced by `fence()` at the time it is made. */
export function postgresMedium(pool: pg.Pool, place: PostgresPlace, query: string, fence: () => LeaseFence | null | undefined): ChainMedium {
  const run = async <R extends pg.QueryResultRow>(what: string, sql: string, values: unknown[]): Promise<pg.QueryResult<R>> => {
    try {
      return await pool.query<R>(sql, values);
    } catch (err) {
      throw unavailable(place, what, err);
    }
  };
  const change = (what: string, fn: (client: pg.PoolClient) => Promise<unknown>) => inTransaction(pool, place, what, fence(), query, fn).then(() => undefined);
  return {
    where: (name) => `postgres:${place.schema}.checkpoints(${query}, ${name})`,
    async read(name) {
      const rows = (await run<{ body: Buffer }>(`reading checkpoint ${name} of query ${query}`, 'SELECT body FROM checkpoints WHERE query = $1 AND name = $2', [query, name])).rows;
      return rows[0]?.body;
    },
    write: (name, bytes) =>
      change(`writing checkpoint ${name} of query ${query}`, (c) =>
        c.query('INSERT INTO checkpoints (query, name, body) VALUES ($1, $2, $3) ON CONFLICT (query, name) DO UPDATE SET body = excluded.body', [query, name, bytes]),
      ),
    rename: (from, to) =>
      change(`renaming checkpoint ${from} of query ${query}`, async (c) => {
        const moved = await c.query('SELECT 1 FROM checkpoints WHERE query = $1 AND name = $2', [query, from]);
        if (moved.rowCount === 0) return;
        await c.query('DELETE FROM checkpoints WHERE query = $1 AND name = $2', [query, to]);
        await c.query('UPDATE checkpoints SET name = $3 WHERE query = $1 AND name = $2', [query, from, to]);
      }),
    async list() {
      return (await run<{ name: string }>(`listing the checkpoints of query ${query}`, 'SELECT name FROM checkpoints WHERE query = $1', [query])).rows.map((r) => r.name);
    },
    async remove(names) {
      if (names.length === 0) return;
      const there = await run(`listing the checkpoints of query ${query}`, 'SELECT 1 FROM checkpoints WHERE query = $1 AND name = ANY($2::text[]) LIMIT 1', [query, names]);
      // Nothing to remove needs no lease (a chain opened to be read, e.g. for its positions).
      if (there.rowCount === 0) return;
      await change(`removing checkpoints of query ${query}`, (c) => c.query('DELETE FROM checkpoints WHERE query = $1 AND name = ANY($2::text[])', [query, names]));
    },
  };
}
