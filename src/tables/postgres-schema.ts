/**
 * The PostgreSQL layout of tables: one schema per store, the same three tables as on SQLite. Keys are text
 * with the "C" collation, which compares UTF-8 bytes, that is code points, as the SQLite backend does; values
 * are JSONB. Every component that keeps state in the schema (the notification outbox too) records its
 * version in `ts_schema`, so each can migrate on its own.
 */
import type pg from 'pg';

export const TABLES_SCHEMA_VERSION = 1;

const DDL_V1 = `
CREATE TABLE IF NOT EXISTS ts_tables (
  id          bigserial PRIMARY KEY,
  name        text COLLATE "C" NOT NULL UNIQUE,
  sort_key    boolean NOT NULL,
  created_at  bigint NOT NULL
);

-- sk is '' in tables without a sort key. Table ids come from a sequence and are never reused, so a
-- re-created table never sees an old table's items.
CREATE TABLE IF NOT EXISTS ts_items (
  table_id    bigint NOT NULL,
  pk          text COLLATE "C" NOT NULL,
  sk          text COLLATE "C" NOT NULL,
  version     bigint NOT NULL,
  updated_at  bigint NOT NULL,
  value       jsonb NOT NULL,
  PRIMARY KEY (table_id, pk, sk)
);

CREATE TABLE IF NOT EXISTS ts_checkpoints (
  consumer         text COLLATE "C" NOT NULL,
  stream           text COLLATE "C" NOT NULL,
  shard_id         text COLLATE "C" NOT NULL,
  sequence_number  text NOT NULL,
  updated_at       bigint NOT NULL,
  PRIMARY KEY (consumer, stream, shard_id)
);
`;

/**
 * Creates the schema when missing and brings `component` to `version`, running `ddl` (idempotent statements)
 * when it is behind; refuses a schema a newer build wrote. Runs under an advisory lock, so nodes starting at
 * once do not race on CREATE ... IF NOT EXISTS.
 */
export async function migratePostgres(client: pg.ClientBase, schema: string, component: string, version: number, ddl: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tollstream:tables:${schema}`]);
    // Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".ts_schema (component text PRIMARY KEY, version integer NOT NULL)`);
    const found = await client.query<{ version: number }>(`SELECT version FROM "${schema}".ts_schema WHERE component = $1`, [component]);
    const current = found.rows[0]?.version;
    if (current !== undefined && current > version) {
      throw new Error(`the schema ${schema} holds ${component} version ${current}, newer than this build's ${version}; upgrade Tollstream`);
    }
    if (current !== version) {
      await client.query(`SET LOCAL search_path = "${schema}"`);
      await client.query(ddl);
      await client.query(
        `INSERT INTO "${schema}".ts_schema (component, version) VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
        [component, version],
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export function migratePostgresTables(client: pg.ClientBase, schema: string): Promise<void> {
  return migratePostgres(client, schema, 'tables', TABLES_SCHEMA_VERSION, DDL_V1);
}
