/**
 * The door for sibling components that keep their own state in the tables database (notifications):
 * the shared SQLite handle, schema migration, and methods added to transaction handles. Not for callers.
 */
export { tablesInternals, type CommitStats, type OpenTransaction, type TablesInternals, type TxDecoration } from './tables.ts';
export { migrate } from './schema.ts';
export { postgresTablesInternals, type PostgresTablesInternals, type PostgresTxHandle } from './postgres.ts';
export { migratePostgres } from './postgres-schema.ts';
export { driverError } from './postgres-tx.ts';
