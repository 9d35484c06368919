/**
 * Deployed functions' definitions in PostgreSQL, shared by the nodes of a cluster: in the schema of the functions'
 * shared tables (`tollstream_functions`), next to their checkpoints (`ts_checkpoints`), so a function's removal and
 * its checkpoints' go in one transaction.
 *
 *   function_definitions (name PRIMARY KEY, revision, deleted, definition jsonb, code text)
 *   function_runners (name, node, expires_at, PRIMARY KEY (name, node))
 *
 * `revision` grows with every change (deploy, update, pause, resume, delete), so a node sees what changed since
 * it last looked, and a change made from an older read is refused (`FUNCTION_CHANGED`). `code` is the current
 * version's module. A delete leaves the row as a tombstone (`deleted`) until no live node runs the function:
 * `function_runners` holds a row per node that runs it, claimed before it starts (refused once the tombstone is
 * there) and refreshed while it runs; then the row, the function's checkpoints and its runners go at once, and
 * its leases are released (a new epoch), so a node that still ran it unseen can commit nothing more.
 */
import type pg from 'pg';
import { TollstreamError } from '../core/errors.ts';
import type { TableStore } from '../tables/index.ts';
import { migratePostgres, postgresTablesInternals } from '../tables/internal.ts';
import type { StoredDefinition } from './definitions.ts';
import { consumerName } from './shard-worker.ts';

const SHARED_DEFINITIONS_VERSION = 1;

const DDL_V1 = `
CREATE TABLE IF NOT EXISTS function_definitions (
  name        text COLLATE "C" PRIMARY KEY,
  revision    bigint NOT NULL,
  deleted     boolean NOT NULL DEFAULT false,
  definition  jsonb NOT NULL,
  code        text NOT NULL
);
CREATE TABLE IF NOT EXISTS function_runners (
  name        text COLLATE "C" NOT NULL,
  node        text NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (name, node)
);
`;

/** A definition as the nodes share it. */
export interface SharedDefinition {
  readonly definition: StoredDefinition;
  readonly revision: number;
  /** Deleted, waiting for the nodes that run it to stop. */
  readonly deleted: boolean;
}

export interface SharedDefinitionsOptions {
  /** The functions' shared tables (`openPostgresTables`): the definitions go in their schema. */
  readonly store: TableStore;
  /** This node's name among the runners. */
  readonly node: string;
  /** The lease table's schema: a removed function's leases there are released. */
  readonly leaseSchema: string;
  /** How long a node's claim to run a function lasts without being refreshed, in ms. */
  readonly runnerTtlMs: number;
}

export class SharedDefinitions {
  readonly #pool: pg.Pool;
  readonly #options: SharedDefinitionsOptions;
  readonly description: string;

  private constructor(pool: pg.Pool, schema: string, options: SharedDefinitionsOptions) {
    this.#pool = pool;
    this.#options = options;
    this.description = `postgres:${schema}.function_definitions`;
  }

  static async open(options: SharedDefinitionsOptions): Promise<SharedDefinitions> {
    const { pool, schema } = postgresTablesInternals(options.store);
    const shared = new SharedDefinitions(pool, schema, options);
    await shared.#run('creating the function definitions table', async (client) => migratePostgres(client, schema, 'function-definitions', SHARED_DEFINITIONS_VERSION, DDL_V1));
    return shared;
  }

  /** Every definition, tombstones included, without the modules. */
  async list(): Promise<SharedDefinition[]> {
    const rows = await this.#query<{ revision: string; deleted: boolean; definition: StoredDefinition }>('reading the function definitions', 'SELECT revision::text AS revision, deleted, definition FROM function_definitions ORDER BY name');
    return rows.map((r) => ({ definition: r.definition, revision: Number(r.revision), deleted: r.deleted }));
  }

  async get(name: string): Promise<SharedDefinition | undefined> {
    const rows = await this.#query<{ revision: string; deleted: boolean; definition: StoredDefinition }>(`reading function ${name}`, 'SELECT revision::text AS revision, deleted, definition FROM function_definitions WHERE name = $1', [name]);
    const r = rows[0];
    return r && { definition: r.definition, revision: Number(r.revision), deleted: r.deleted };
  }

  /** The module of `name` at `version`; undefined when the function has moved on to another version (or is gone). */
  async code(name: string, version: number): Promise<string | undefined> {
    const rows = await this.#query<{ code: string }>(`reading the module of function ${name}`, "SELECT code FROM function_definitions WHERE name = $1 AND (definition->>'version')::bigint = $2", [name, version]);
    return rows[0]?.code;
  }

  /** Stores a new function; `FUNCTION_EXISTS` when the name is taken (also by one still being deleted). */
  async create(definition: StoredDefinition, code: string): Promise<void> {
    const rows = await this.#query(`deploying function ${definition.name}`, 'INSERT INTO function_definitions (name, revision, definition, code) VALUES ($1, 1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING name', [definition.name, JSON.stringify(definition), code]);
    if (rows.length > 0) return;
    const found = await this.get(definition.name);
    const message = found?.deleted
      ? `function '${definition.name}' is being deleted: a node still runs it; deploy it again once it is gone (within seconds)`
      : `function '${definition.name}' already exists; update it, or delete it first`;
    throw new TollstreamError('FUNCTION_EXISTS', message, { context: { function: definition.name } });
  }

  /** Replaces the definition read at `revision` (and its module, when given); `FUNCTION_CHANGED` when it changed since. */
  async replace(definition: StoredDefinition, revision: number, code?: string): Promise<void> {
    const rows = await this.#query(
      `changing function ${definition.name}`,
      'UPDATE function_definitions SET revision = revision + 1, definition = $2, code = COALESCE($3, code) WHERE name = $1 AND revision = $4 AND NOT deleted RETURNING name',
      [definition.name, JSON.stringify(definition), code ?? null, revision],
    );
    if (rows.length === 0) throw functionChanged(definition.name);
  }

  /** Marks the function read at `revision` deleted; `FUNCTION_CHANGED` when it changed since. */
  async markDeleted(name: string, revision: number): Promise<void> {
    const rows = await this.#query(`deleting function ${name}`, 'UPDATE function_definitions SET revision = revision + 1, deleted = true WHERE name = $1 AND revision = $2 AND NOT deleted RETURNING name', [name, revision]);
    if (rows.length === 0) throw functionChanged(name);
  }

  /**
   * Claims to run `name` on this node; false when it is deleted or gone (then it must not start). The definition row
   * is read FOR SHARE, so a delete either comes after the claim (and waits for this node to stop) or before it.
   */
  async claim(name: string): Promise<boolean> {
    return this.#transaction(`claiming function ${name}`, async (client) => {
      const live = await client.query('SELECT 1 FROM function_definitions WHERE name = $1 AND NOT deleted FOR SHARE', [name]);
      if (live.rowCount === 0) return false;
      await client.query(
        `INSERT INTO function_runners (name, node, expires_at) VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond')
         ON CONFLICT (name, node) DO UPDATE SET expires_at = excluded.expires_at`,
        [name, this.#options.node, this.#options.runnerTtlMs],
      );
      return true;
    });
  }

  /** Keeps this node's claims alive; returns the functions it still holds a claim for. */
  async refresh(): Promise<Set<string>> {
    const rows = await this.#query<{ name: string }>(
      'refreshing the functions this node runs',
      "UPDATE function_runners SET expires_at = now() + $2::float8 * interval '1 millisecond' WHERE node = $1 RETURNING name",
      [this.#options.node, this.#options.runnerTtlMs],
    );
    return new Set(rows.map((r) => r.name));
  }

  /** This node no longer runs `name` (or any function, without a name). */
  async unclaim(name?: string): Promise<void> {
    if (name === undefined) await this.#query('releasing the functions this node runs', 'DELETE FROM function_runners WHERE node = $1', [this.#options.node]);
    else await this.#query(`releasing function ${name}`, 'DELETE FROM function_runners WHERE name = $1 AND node = $2', [name, this.#options.node]);
  }

  /**
   * Removes deleted functions that no live node runs: the definition, its checkpoints and its runners in one
   * transaction, its leases released. Returns the names removed.
   */
  async removeDeleted(): Promise<string[]> {
    const tombstones = (await this.#query<{ name: string }>('reading deleted functions', 'SELECT name FROM function_definitions WHERE deleted')).map((r) => r.name);
    const removed: string[] = [];
    for (const name of tombstones) {
      const done = await this.#transaction(`removing function ${name}`, async (client) => {
        // Locked first: a claim in flight commits before this reads the runners, or sees the tombstone.
        const row = await client.query('SELECT 1 FROM function_definitions WHERE name = $1 AND deleted FOR UPDATE', [name]);
        if (row.rowCount === 0) return false;
        const running = await client.query('SELECT 1 FROM function_runners WHERE name = $1 AND expires_at > now() LIMIT 1', [name]);
        if ((running.rowCount ?? 0) > 0) return false;
        await client.query('DELETE FROM ts_checkpoints WHERE consumer = $1', [consumerName(name)]);
        const leases = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${this.#options.leaseSchema}".leases`]);
        if (leases.rows[0]?.t) {
          // Unowned at a new epoch: a commit under the old one is refused (fenceCommits). The rows stay, for a function deployed again under this name.
          await client.query(`UPDATE "${this.#options.leaseSchema}".leases SET owner = NULL, epoch = epoch + 1, expires_at = now(), wanted_by = NULL WHERE starts_with(key, $1)`, [`function:${name}:`]);
        }
        await client.query('DELETE FROM function_runners WHERE name = $1', [name]);
        await client.query('DELETE FROM function_definitions WHERE name = $1', [name]);
        return true;
      });
      if (done) removed.push(name);
    }
    return removed;
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(what: string, sql: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, values)).rows;
    } catch (err) {
      throw unavailable(what, err);
    }
  }

  async #run<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw unavailable(what, err);
    }
    try {
      return await fn(client);
    } catch (err) {
      throw unavailable(what, err);
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in a READ COMMITTED transaction (each statement sees what committed before it: the locks order them). */
  #transaction<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#run(what, async (client) => {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }
}

export function functionChanged(name: string): TollstreamError {
  return new TollstreamError('FUNCTION_CHANGED', `function '${name}' was changed or deleted through another node meanwhile; read it again and retry`, { context: { function: name } });
}

function unavailable(what: string, err: unknown): TollstreamError {
  if (err instanceof TollstreamError) return err;
  return new TollstreamError('TABLES_UNAVAILABLE', `${what} in PostgreSQL failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
