/**
 * The warehouse: the one public door. Callers use the `Warehouse` interface; `openDuckDBWarehouse` gives the
 * DuckDB backend. The conformance suite every backend runs lives in `conformance.ts` (test-only).
 */
export type * from './types.ts';
export { openDuckDBWarehouse, type DuckDBWarehouseOptions } from './duckdb.ts';
export { TABLES, TOLL_TRANSACTIONS, STATION_REFERENCE, DELIVERY_POSITIONS, DELIVERY_ERRORS, SOURCE_COLUMNS, tableSchema } from './tables.ts';
export { rowFromObject, type RowConversion } from './rows.ts';
