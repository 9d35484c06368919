import { describe, expect, it } from 'vitest';
import { createTableSql, DUCKDB_COLUMN_TYPES, POSTGRES_COLUMN_TYPES } from './dialect.ts';
import type { TableSchema } from './types.ts';

const table: TableSchema = {
  name: 'odd "name"',
  description: 'a table whose name needs quoting',
  columns: [
    { name: 'id', type: 'varchar', nullable: false, description: '' },
    { name: 'at', type: 'timestamp', nullable: false, description: '' },
    { name: 'n', type: 'bigint', nullable: true, description: '' },
  ],
  primaryKey: ['id', 'at'],
};

describe('createTableSql', () => {
  it('writes one DDL for both databases, differing in the type names and the schema only', () => {
    expect(createTableSql(table, DUCKDB_COLUMN_TYPES)).toBe(
      'CREATE TABLE IF NOT EXISTS "odd ""name""" ("id" VARCHAR NOT NULL, "at" TIMESTAMP NOT NULL, "n" BIGINT, PRIMARY KEY ("id", "at"))',
    );
    expect(createTableSql(table, POSTGRES_COLUMN_TYPES, 'tenant')).toBe(
      'CREATE TABLE IF NOT EXISTS "tenant"."odd ""name""" ("id" text NOT NULL, "at" timestamptz NOT NULL, "n" bigint, PRIMARY KEY ("id", "at"))',
    );
  });
});
