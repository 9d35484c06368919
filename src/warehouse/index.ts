/**
 * The warehouse: the one public door. Callers use the `Warehouse` interface; `openDuckDBWarehouse` and
 * `openPostgresWarehouse` give the two backends, each naming its SQL dialect for reports. The conformance
 * suite every backend runs lives in `conformance.ts` (test-only).
 */
export type * from './types.ts';
export { openDuckDBWarehouse, type DuckDBWarehouseOptions } from './duckdb.ts';
export type { DamagedWarehouse } from './duckdb-file.ts';
export { openPostgresWarehouse, type PostgresWarehouseOptions } from './postgres.ts';
export { DUCKDB_COLUMN_TYPES, DUCKDB_DIALECT, POSTGRES_DIALECT } from './dialect.ts';
export { TABLES, DELIVERY_POSITIONS, DELIVERY_ERRORS, SOURCE_COLUMNS, SOURCE_COLUMN_SCHEMAS, tableSchema } from './tables.ts';
export { rowFromObject, type RowConversion } from './rows.ts';
export { QuerySlots, type QuerySlotLimits } from './query-slots.ts';
export { splitStatements } from './sql-text.ts';
export { checkBatchPositions } from './positions.ts';
