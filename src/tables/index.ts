/**
 * Tables: the one public door. `openTables` gives named tables of JSON items on SQLite, with conditional
 * writes, atomic counters, range queries, and transactions that commit stream checkpoints with the writes.
 */
export type * from './types.ts';
export { openTables, type TablesOptions } from './tables.ts';
export { assertJsonObject } from './json.ts';
export { sqliteTableStore } from './sqlite-store.ts';
export { openPostgresTables, type PostgresTablesOptions } from './postgres.ts';
