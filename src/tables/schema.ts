/**
 * The SQLite layout of tables. Every component that keeps state in this database (notifications too)
 * records its schema version in `ts_schema`, so each can migrate on its own.
 */
import type Database from 'better-sqlite3';

export const TABLES_SCHEMA_VERSION = 1;

const DDL_V1 = `
CREATE TABLE IF NOT EXISTS ts_tables (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL UNIQUE,
  sort_key    INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;

-- One row per item. sk is '' in tables without a sort key. WITHOUT ROWID clusters the rows by key,
-- so a query by partition key is one index range scan. Tables are referenced by their integer id (short
-- keys), which AUTOINCREMENT never reuses, so a re-created table never sees an old table's items.
CREATE TABLE IF NOT EXISTS ts_items (
  table_id    INTEGER NOT NULL,
  pk          TEXT NOT NULL,
  sk          TEXT NOT NULL,
  version     INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  value       TEXT NOT NULL,
  PRIMARY KEY (table_id, pk, sk)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ts_checkpoints (
  consumer         TEXT NOT NULL,
  stream           TEXT NOT NULL,
  shard_id         TEXT NOT NULL,
  sequence_number  TEXT NOT NULL,
  updated_at       INTEGER NOT NULL,
  PRIMARY KEY (consumer, stream, shard_id)
) STRICT, WITHOUT ROWID;
`;

/** Creates `ts_schema` and records `component` at `version`, running `ddl` once when first created. */
export function migrate(db: Database.Database, component: string, version: number, ddl: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS ts_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT');
  const run = db.transaction(() => {
    const row = db.prepare('SELECT version FROM ts_schema WHERE component = ?').get(component) as { version: number } | undefined;
    if (row && row.version > version) {
      throw new Error(`the database holds ${component} schema version ${row.version}, newer than this build's ${version}; upgrade Tollstream`);
    }
    if (row && row.version === version) return;
    db.exec(ddl);
    db.prepare('INSERT INTO ts_schema (component, version) VALUES (?, ?) ON CONFLICT (component) DO UPDATE SET version = excluded.version').run(
      component,
      version,
    );
  });
  run.immediate();
}

export function migrateTables(db: Database.Database): void {
  migrate(db, 'tables', TABLES_SCHEMA_VERSION, DDL_V1);
}
