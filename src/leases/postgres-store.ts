/**
 * The lease table on PostgreSQL, for a cluster: two tables in a schema of their own (`leases`, `lease_owners`).
 * Every change is one conditional UPDATE on the lease's epoch (and owner), so of two nodes racing for a lease
 * exactly one wins. Expiry is decided on the server's clock (`now()`), and only "milliseconds left" leaves it.
 */
import pg from 'pg';
import { TollstreamError } from '../core/errors.ts';
import { redactUrl } from '../core/connection-url.ts';
import type { TableStore } from '../tables/index.ts';
import { postgresTablesInternals, type PostgresTxHandle } from '../tables/internal.ts';
import type { Lease, LeaseStore, LeaseTable, LeaseToken } from './types.ts';

export interface PostgresLeaseStoreOptions {
  /** `postgres://user:password@host:5432/database` */
  readonly connectionString: string;
  /** The schema of the lease tables; created when missing. Lower-case letters, digits and `_`. @default 'tollstream_leases' */
  readonly schema?: string;
  /**
   * A statement or a connection attempt taking longer fails with `LEASES_UNAVAILABLE`, in ms. A node gives
   * `leaseStoreTimeoutMs` of its lease timings (src/config): longer than that, a renewal can keep no lease.
   */
  readonly timeoutMs: number;
}

const LEASE_COLUMNS = `key, owner, epoch::text AS epoch, wanted_by, (extract(epoch FROM expires_at - now()) * 1000)::float8 AS expires_in_ms`;

interface LeaseRow {
  key: string;
  owner: string | null;
  epoch: string;
  wanted_by: string | null;
  expires_in_ms: number;
}

export async function openPostgresLeaseStore(options: PostgresLeaseStoreOptions): Promise<LeaseStore> {
  const schema = options.schema ?? 'tollstream_leases';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema) || schema.startsWith('pg_')) {
    throw new TollstreamError('CONFIG_INVALID', `the lease schema '${schema}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema } });
  }
  const timeoutMs = options.timeoutMs;
  const where = redactUrl(options.connectionString);
  await createTables(options.connectionString, schema, timeoutMs, where);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: 2,
    options: `-c search_path=${schema}`,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
  });
  // A dropped connection emits 'error' on its client; the query in flight fails on its own.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const run = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<pg.QueryResult<R>> => {
    try {
      return await pool.query<R>(sql, values);
    } catch (err) {
      throw new TollstreamError('LEASES_UNAVAILABLE', `the lease table at ${where} (schema ${schema}) failed: ${err instanceof Error ? err.message : String(err)}`, { context: { url: where, schema }, cause: err });
    }
  };
  return createStore(schema, run, () => pool.end());
}

/** The tables, created under an advisory lock (nodes starting at once would race on IF NOT EXISTS). */
async function createTables(connectionString: string, schema: string, timeoutMs: number, where: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:leases:${schema}`]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".leases (
      key text PRIMARY KEY,
      owner text,
      epoch bigint NOT NULL DEFAULT 0,
      expires_at timestamptz NOT NULL DEFAULT 'epoch',
      wanted_by text)`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".lease_owners (owner text PRIMARY KEY, expires_at timestamptz NOT NULL)`);
    await client.query('COMMIT');
  } catch (err) {
    throw new TollstreamError('LEASES_UNAVAILABLE', `cannot create the lease tables at ${where} (schema ${schema}): ${err instanceof Error ? err.message : String(err)}`, { context: { url: where, schema }, cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

function createStore(schema: string, run: <R extends pg.QueryResultRow>(sql: string, values?: unknown[]) => Promise<pg.QueryResult<R>>, end: () => Promise<void>): LeaseStore {
  const ttl = `now() + $TTL * interval '1 millisecond'`;
  const withTtl = (sql: string, index: number) => sql.replaceAll('$TTL', `$${index}::float8`);
  const one = async (sql: string, values: unknown[]): Promise<Lease | undefined> => {
    const row = (await run<LeaseRow>(sql, values)).rows[0];
    return row ? toLease(row) : undefined;
  };
  const changed = async (sql: string, values: unknown[]): Promise<boolean> => ((await run(sql, values)).rowCount ?? 0) > 0;
  return {
    description: `postgres:${schema}`,
    async ensure(keys) {
      if (keys.length > 0) await run('INSERT INTO leases (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO NOTHING', [keys]);
    },
    async remove(keys) {
      if (keys.length > 0) await run('DELETE FROM leases WHERE key = ANY($1::text[])', [keys]);
    },
    async read(): Promise<LeaseTable> {
      const [leases, owners] = await Promise.all([
        run<LeaseRow>(`SELECT ${LEASE_COLUMNS} FROM leases ORDER BY key`),
        run<{ owner: string }>('SELECT owner FROM lease_owners WHERE expires_at > now() ORDER BY owner'),
      ]);
      return { leases: leases.rows.map(toLease), liveOwners: owners.rows.map((r) => r.owner) };
    },
    async heartbeat(owner, ttlMs) {
      await run(withTtl(`INSERT INTO lease_owners (owner, expires_at) VALUES ($1, ${ttl}) ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at`, 2), [owner, ttlMs]);
    },
    async forgetOwner(owner) {
      await run('DELETE FROM lease_owners WHERE owner = $1', [owner]);
    },
    take: (key, owner, epoch, ttlMs) =>
      one(
        withTtl(`UPDATE leases SET owner = $2, epoch = epoch + 1, expires_at = ${ttl}, wanted_by = NULL
         WHERE key = $1 AND epoch = $3 AND (owner IS NULL OR expires_at <= now()) RETURNING ${LEASE_COLUMNS}`, 4),
        [key, owner, epoch, ttlMs],
      ),
    renew: (key, owner, epoch, ttlMs) =>
      one(withTtl(`UPDATE leases SET expires_at = ${ttl} WHERE key = $1 AND owner = $2 AND epoch = $3 RETURNING ${LEASE_COLUMNS}`, 4), [key, owner, epoch, ttlMs]),
    request: (key, wanter, epoch) => changed('UPDATE leases SET wanted_by = $2 WHERE key = $1 AND epoch = $3 AND owner IS NOT NULL AND owner <> $2', [key, wanter, epoch]),
    handOver: (key, owner, epoch, to, ttlMs) =>
      changed(withTtl(`UPDATE leases SET owner = $4, epoch = epoch + 1, expires_at = ${ttl}, wanted_by = NULL WHERE key = $1 AND owner = $2 AND epoch = $3`, 5), [key, owner, epoch, to, ttlMs]),
    release: (key, owner, epoch) => changed('UPDATE leases SET owner = NULL, epoch = epoch + 1, expires_at = now(), wanted_by = NULL WHERE key = $1 AND owner = $2 AND epoch = $3', [key, owner, epoch]),
    close: end,
  };
}

function toLease(row: LeaseRow): Lease {
  return { key: row.key, owner: row.owner, epoch: Number(row.epoch), expiresInMs: Number(row.expires_in_ms), wantedBy: row.wanted_by };
}

/**
 * Fences the commits of work done under leases on tables in PostgreSQL (`openPostgresTables`, in the database of
 * the lease table): adds `tx.holdsLease(lease)` to the store's transactions, which refuses (`LEASE_LOST`) unless
 * the lease row still names `lease.owner` at `lease.epoch`. It reads the row FOR SHARE, so no node can take the
 * lease until the transaction has ended: a commit that passes it is made by the holder, and the next holder
 * starts from what it committed. A take committed after the transaction began makes it meet a serialization
 * conflict, and the run again sees the new owner.
 */
export function fenceCommits(store: TableStore, leaseSchema = 'tollstream_leases'): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(leaseSchema) || leaseSchema.startsWith('pg_')) {
    throw new TollstreamError('CONFIG_INVALID', `the lease schema '${leaseSchema}' must be lower-case letters, digits and _ (starting with a letter or _, not pg_)`, { context: { schema: leaseSchema } });
  }
  const holdsLease = async (tx: PostgresTxHandle, lease: LeaseToken): Promise<void> => {
    const held = await tx.query(`SELECT 1 FROM "${leaseSchema}".leases WHERE key = $1 AND owner = $2 AND epoch = $3 FOR SHARE`, [lease.key, lease.owner, lease.epoch]);
    if (held.rowCount === 0) {
      throw new TollstreamError('LEASE_LOST', `the lease '${lease.key}' is no longer '${lease.owner}''s at epoch ${lease.epoch}: another node holds it, so this commit is refused`, {
        context: { key: lease.key, owner: lease.owner, epoch: lease.epoch },
      });
    }
  };
  postgresTablesInternals(store).decorate('holdsLease', holdsLease as (tx: PostgresTxHandle, ...args: never[]) => Promise<unknown>);
}

declare module '../tables/types.ts' {
  interface StoreTx {
    /**
     * Refuses (`LEASE_LOST`, which rolls the transaction back) unless `lease` is still its owner's at its epoch.
     * Only on tables in PostgreSQL after `fenceCommits`.
     */
    holdsLease?(lease: LeaseToken): Promise<void>;
  }
}
